-- wrk script: POST a typical 1 KB post to /v1/score with the key in $KEY.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("KEY")
wrk.body = [[{"id":"p","body":"Hi all, my withdrawal to bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq has been pending for two days. I opened a ticket and support said the network is congested, see https://mempool.space for fees. 出金が二日間保留のままです。サポートに問い合わせましたが、まだ返事がありません。 Is there anything else I can do? The app shows 'processing' and the txid is not visible yet. I also tried the web version on https://www.binance.com/en/my/wallet but it looks the same. Thanks in advance, and sorry for my English — 日本語でも大丈夫です。 Hi all, my withdrawal to bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq has been pending for two days."}]]

done = function(summary, latency, requests)
  io.write(string.format("requests/s %.0f  p50 %.2f ms  p99 %.2f ms  errors %d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
