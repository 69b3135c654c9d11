-- wrk script: GET the top of the review queue (50 items) with the
-- moderator key in $KEY; $QUERY adds filters (e.g. "&forum=jp-main").
wrk.method = "GET"
wrk.path = "/v1/queue?limit=50" .. (os.getenv("QUERY") or "")
wrk.headers["Authorization"] = "Bearer " .. os.getenv("KEY")

done = function(summary, latency, requests)
  io.write(string.format("requests/s %.0f  p50 %.2f ms  p99 %.2f ms  errors %d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
