-- wrk script: POST /v1/posts with a unique post id per request (so every
-- request is a first submission: scored, inserted, audited and, for one in
-- ten, queued), each benign post a different mix of ordinary sentences and
-- one in ten the same scam. Key in $KEY.
local counter = 0
local threads = 0

setup = function(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

local scam = [[DM me on Telegram if your withdrawal is stuck, I can help. Our support team answers within minutes, just message @helpdesk and share your account email so we can unlock it for you today.]]

-- Sentences of ordinary forum posts (written by the team); each benign post
-- is three of them and forty made-up words, so posts differ from each other
-- as a forum's do (memory's near-duplicate search finds no wave among them).
local sentences = {
  "my withdrawal has been pending for two days and the ticket has no answer yet",
  "support said the network is congested, see https://mempool.space for fees",
  "出金が二日間保留のままです。サポートに問い合わせましたが、まだ返事がありません。",
  "the app shows processing and the txid is not visible yet",
  "I also tried the web version but it looks exactly the same",
  "thanks in advance, and sorry for my English",
  "does anyone know when the next listing vote starts",
  "the docs say the form for new tokens opens on Mondays",
  "maker fees went down for the first tier this month",
  "I cannot find last month's fee table any more",
  "I changed phones and the authenticator app did not move my codes",
  "support asked for a selfie with my ID, is that normal here",
  "the staking page shows a different APY than the announcement",
  "is the savings product available in my country",
  "my deposit arrived but the balance still shows zero",
  "which network should I pick to move USDT cheaply",
  "the chart on mobile freezes when I switch to the four hour view",
  "how long does the identity check usually take for residents of Japan",
  "日本語のサポートはありますか？メールで問い合わせても大丈夫でしょうか。",
  "I would like to suggest adding more trading pairs for small caps",
  "the API rate limit seems lower since yesterday's maintenance",
  "can I export my trade history as a CSV for taxes",
  "the referral page does not load in Firefox",
  "is there a way to set a price alert without the app",
  "my sub-account transfer is stuck in review",
  "what happens to open orders during a scheduled maintenance",
  "the futures tab is missing from my account settings",
  "I got logged out twice today, is anyone else seeing this",
  "where can I read the proof of reserves report",
  "the new layout is nice but the order book font is tiny",
  "will the card work for online payments abroad",
  "how do I close an old account I no longer use",
}

request = function()
  counter = counter + 1
  local text = scam
  if counter % 10 ~= 0 then
    -- Three sentences and forty made-up words: no two posts alike.
    local picked = {}
    for i = 1, 3 do picked[i] = sentences[math.random(#sentences)] end
    local words = {}
    for i = 1, 40 do
      local w = {}
      for j = 1, math.random(3, 8) do w[j] = string.char(math.random(97, 122)) end
      words[i] = table.concat(w)
    end
    text = table.concat(picked, ". ") .. ". " .. table.concat(words, " ") .. "."
  end
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
