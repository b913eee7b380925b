// The qr-generate API (/qr/v1) as the console uses it. Paths follow
// functions/qr-generate/openapi.yaml.
export const qrStatus: Record<string, { label: string; type: 'success' | 'warning' | 'danger' | 'info' }> = {
  pending: { label: '待审核', type: 'warning' },
  active: { label: '有效', type: 'success' },
  rejected: { label: '已驳回', type: 'danger' },
  invalid: { label: '已失效', type: 'info' },
}
export const entityTypes: Record<string, string> = {
  enterprise: '企业', individual: '个体工商户', cooperative: '农民专业合作社', institution: '事业单位', non_enterprise: '民办非企业单位',
}
export const codeURL = (token: string, tail = '') => `/qr/v1/codes/${encodeURIComponent(token)}${tail}`
/** Image and poster downloads: {token}.png?size=, {token}.svg, {token}/poster.pdf?paper= */
export const imageURL = (token: string, kind: 'png' | 'svg' | 'poster') =>
  kind === 'poster' ? codeURL(token, '/poster.pdf') : `/qr/v1/codes/${encodeURIComponent(token)}.${kind}`
