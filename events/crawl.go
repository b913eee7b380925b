package events

// Crawl events (owner: crawler-shard).
const (
	// CrawlShardRequested: one shard of a crawl job is to be crawled. A job
	// is split by host hash, so every URL of one host lands in one shard
	// and per-host politeness holds whichever instance takes it (Knative
	// scales crawler instances out with these events).
	CrawlShardRequested = Prefix + "crawl.shard.requested.v1"
)

// CrawlShardRequestedData is the payload of CrawlShardRequested.
type CrawlShardRequestedData struct {
	JobID  int64 `json:"job_id"`
	Shard  int   `json:"shard" jsonschema:"description=shard number, hash(host) mod shards"`
	Shards int   `json:"shards"`
	Hosts  int   `json:"hosts" jsonschema:"description=how many seed hosts fall in the shard"`
}

func crawlTypes() []Type {
	return []Type{
		{CrawlShardRequested, "网络爬虫分片待抓取（按主机哈希切分）", "crawler-shard", "任务编号", CrawlShardRequestedData{}, "crawl.shard.requested.v1.json"},
	}
}
