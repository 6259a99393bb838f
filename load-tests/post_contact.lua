-- wrk script: sustained POST /v1/contacts with a unique agency_reference per request, so every
-- request creates a contact (no replays), about a different child each time (so triage's
-- per-child matching runs but requests do not queue on one child's lock, as in real traffic).
-- The key comes from MASH_LOAD_KEY; MASH_LOAD_CHILDREN (default 1) children per contact, siblings
-- with their own names, so each has its own match keys and earlier-contact lookup.
-- Counts answers other than 201 per thread and reports them at the end.

local threads = {}

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  prefix = string.format("LOAD-%d-%d-", os.time(), tid)
  counter = 0
  unexpected = 0
  headers = {
    ["Authorization"] = "Bearer " .. os.getenv("MASH_LOAD_KEY"),
    ["Content-Type"] = "application/json",
  }
end

local template = [[{"agency_reference": "%s",
 "referrer": {"name": "Load Test", "role": "Response officer"},
 "children": [%s],
 "adults": [{"given_name": "Adult", "family_name": "Test", "relationship": "parent"}],
 "concerns": ["domestic_abuse", "neglect"],
 "narrative": "Attended a domestic incident; children present, no injuries seen. Referred for screening.",
 "police": {"dash_risk": "medium", "child_present": true},
 "consent": {"status": "not_sought", "reason_not_sought": "would_prejudice_investigation"}}]]

local children_per_contact = tonumber(os.getenv("MASH_LOAD_CHILDREN") or "1")

function request()
  counter = counter + 1
  local id = prefix .. counter
  local name = "Child" .. id:gsub("[^%w]", "")
  local children = {}
  for k = 1, children_per_contact do
    children[k] = string.format('{"given_name": "%s", "family_name": "Test", "date_of_birth": "2020-01-%02d"}',
      name .. string.char(64 + k), k)
  end
  return wrk.format("POST", "/v1/contacts", headers, string.format(template, id, table.concat(children, ", ")))
end

function response(status, headers, body)
  if status ~= 201 then
    unexpected = unexpected + 1
  end
end

function done(summary, latency, requests)
  local bad = 0
  for _, thread in ipairs(threads) do
    bad = bad + thread:get("unexpected")
  end
  io.write(string.format("non-201 answers: %d\n", bad))
  for _, p in ipairs({50, 90, 99, 99.9}) do
    io.write(string.format("latency p%s: %.2f ms\n", p, latency:percentile(p) / 1000))
  end
  io.write(string.format("throughput: %.0f contacts/s\n", summary.requests / (summary.duration / 1e6)))
end
