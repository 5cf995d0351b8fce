-- The status mix of a wrk run, shared by flow.lua and crowd.lua (loaded
-- with dofile from the script's own folder).
local M = {}

-- The statuses counted one by one, each in a global number of the thread
-- ("st_<step>_<status>", "st_<step>_other" for any other): wrk's
-- thread:get() copies numbers faithfully, while a table keyed by strings
-- came back with a garbled key now and then.
local CODES = { 200, 201, 303, 400, 401, 403, 404, 409, 413, 422, 429, 500,
	502, 503, 504 }
local KNOWN = {}
for _, c in ipairs(CODES) do KNOWN[c] = true end
function M.count_status(step, status)
	local k = "st_" .. step .. "_" .. (KNOWN[status] and status or "other")
	_G[k] = (_G[k] or 0) + 1
end
function M.status_mix(threads, steps)
	local mix = {}
	for _, t in ipairs(threads) do
		for _, s in ipairs(steps) do
			for _, c in ipairs(CODES) do
				local v = t:get("st_" .. s .. "_" .. c)
				if v then mix[s .. ":" .. c] = (mix[s .. ":" .. c] or 0) + v end
			end
			local v = t:get("st_" .. s .. "_other")
			if v then mix[s .. ":other"] = (mix[s .. ":other"] or 0) + v end
		end
	end
	return mix
end

return M
