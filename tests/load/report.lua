-- Prints one machine-readable line at the end of a wrk run:
-- BENCH rps=<requests/s> p50_ms=<> p99_ms=<> errors=<non-2xx + socket errors>
done = function(summary, latency, requests)
	local secs = summary.duration / 1e6
	local errs = summary.errors.status + summary.errors.connect +
	    summary.errors.read + summary.errors.write + summary.errors.timeout
	io.write(string.format("BENCH rps=%.0f p50_ms=%.2f p99_ms=%.2f errors=%d\n",
	    summary.requests / secs, latency:percentile(50) / 1000,
	    latency:percentile(99) / 1000, errs))
end
