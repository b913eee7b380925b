package scanresolve

import (
	"crypto/sha256"
	"encoding/hex"
	"net/netip"
	"strings"
)

// Anonymous client hints kept with a scan: which app scanned (so the
// statistics can say how many came through WeChat), the OS family, and a
// keyed hash of the network prefix (to count distinct networks without
// keeping an address). Nothing identifies a person.

func uaClass(ua string) string {
	switch {
	case ua == "":
		return "other"
	case strings.Contains(ua, "miniProgram") || strings.Contains(ua, "miniprogram"):
		return "wechat_mp"
	case strings.Contains(ua, "MicroMessenger"):
		return "wechat"
	case strings.Contains(ua, "AlipayClient"):
		return "alipay"
	case strings.Contains(ua, "baiduboxapp") || strings.Contains(ua, "swan"):
		return "baidu"
	case strings.Contains(ua, "bot") || strings.Contains(ua, "Bot") || strings.Contains(ua, "spider") || strings.Contains(ua, "Spider"):
		return "bot"
	case strings.Contains(ua, "Mozilla"):
		return "browser"
	}
	return "other"
}

func osFamily(ua string) string {
	switch {
	case strings.Contains(ua, "HarmonyOS") || strings.Contains(ua, "OpenHarmony"):
		return "harmonyos"
	case strings.Contains(ua, "Android"):
		return "android"
	case strings.Contains(ua, "iPhone") || strings.Contains(ua, "iPad") || strings.Contains(ua, "iOS"):
		return "ios"
	case strings.Contains(ua, "Windows"):
		return "windows"
	case strings.Contains(ua, "Mac OS X") || strings.Contains(ua, "Macintosh"):
		return "macos"
	case strings.Contains(ua, "Linux"):
		return "linux"
	}
	return "other"
}

// ipHash hashes the /24 (IPv4) or /48 (IPv6) prefix of the client address
// (httpx.ClientIP: the peer, or the first hop past the trusted proxies)
// with a secret salt.
func ipHash(salt, ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ""
	}
	a = a.Unmap()
	bits := 48
	if a.Is4() {
		bits = 24
	}
	p, err := a.Prefix(bits)
	if err != nil {
		return ""
	}
	var buf [64]byte
	b := append(buf[:0], salt...)
	b = p.Addr().AppendTo(b)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}
