// FP-85–91: shared pieces of the online-market monitoring pages
// (crawler-shard and monitor).
import { districts } from './codes'

export const C = '/crawl/v1'
export const MON = '/monitor/v1'

// The platform types crawler-shard's extractor knows (platform name → kind).
export const platforms: { kind: string; name: string }[] = [
  { kind: 'website', name: '网站' }, { kind: 'online_shop', name: '网店' }, { kind: 'delivery_shop', name: '外卖平台店铺' },
  { kind: 'mini_program', name: '小程序' }, { kind: 'official_account', name: '公众号' },
  { kind: 'short_video_account', name: '短视频账号' }, { kind: 'app', name: 'APP' },
]
export const kindName = (k: string) => platforms.find((p) => p.kind === k)?.name ?? k

// Online entities and models carry district names (what the shop page shows).
export const districtNames = districts.map((d) => d.name)

export const violationTypes: Record<string, string> = { advertising: '违法广告', prohibited: '禁售商品', claims: '虚假宣称', disclosure: '信息公示' }

export const clueStatus: Record<string, { label: string; type: 'primary' | 'success' | 'info' | 'warning' | 'danger' }> = {
  open: { label: '待研判', type: 'warning' }, confirmed: { label: '已确认', type: 'success' },
  dismissed: { label: '已排除', type: 'info' }, case: { label: '已移送立案', type: 'danger' },
}

// Frontier states of a crawl job, for its progress.
export const frontierStates: Record<string, string> = { queued: '待抓取', fetching: '抓取中', done: '已完成', failed: '失败', skipped: '已跳过' }
