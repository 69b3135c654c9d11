-- wrk script: POST /v1/posts with a unique post id per request (so every
-- request is a first submission: scored, inserted, audited and, for one in
-- ten, queued). Key in $KEY.
local counter = 0
local threads = 0

setup = function(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

local benign = [[Hi all, my withdrawal has been pending for two days. I opened a ticket and support said the network is congested, see https://mempool.space for fees. 出金が二日間保留のままです。サポートに問い合わせましたが、まだ返事がありません。 Is there anything else I can do? The app shows 'processing' and the txid is not visible yet. I also tried the web version but it looks the same. Thanks in advance, and sorry for my English — 日本語でも大丈夫です。 Hi all, my withdrawal has been pending for two days, and the ticket has no answer yet. Any ideas welcome, thank you.]]
local scam = [[DM me on Telegram if your withdrawal is stuck, I can help. Our support team answers within minutes, just message @helpdesk and share your account email so we can unlock it for you today.]]

request = function()
  counter = counter + 1
  local text = benign
  if counter % 10 == 0 then text = scam end
  local body = string.format('{"id":"w%d-%d-%d","body":"%s","author":{"id":"u%d","account_age_days":30}}',
    tid, os.time(), counter, text, counter % 5000)
  return wrk.format("POST", nil, nil, body)
end

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("KEY")

done = function(summary, latency, requests)
  io.write(string.format("requests/s %.0f  p50 %.2f ms  p99 %.2f ms  errors %d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
