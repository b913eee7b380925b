// Package netguard keeps outbound requests made on a user's behalf (a
// page to capture as evidence, a third-party platform's address) away
// from our own network: loopback, private, link-local, multicast and
// unspecified addresses are refused unless an allow-list names them.
//
// Check refuses a URL before anything is sent; Client's dialer checks
// the address actually connected to, so a name that resolves to a public
// address at Check and to 127.0.0.1 at connect (DNS rebinding) or a
// redirect to an internal address is refused too.
package netguard

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"syscall"
	"time"
)

// Internal reports an address that must not be reached from a user's
// request: loopback, private, link-local, multicast, unspecified, or
// unparsable.
func Internal(a string) bool {
	ip, err := netip.ParseAddr(strings.Trim(a, "[]"))
	if err != nil {
		return true
	}
	ip = ip.Unmap()
	return ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsUnspecified() ||
		ip.IsMulticast() || ip.IsLinkLocalMulticast() || ip.IsInterfaceLocalMulticast()
}

// Resolve answers host's addresses (an IP literal answers itself).
func Resolve(ctx context.Context, host string) ([]string, error) {
	if ip, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		return []string{ip.String()}, nil
	}
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupHost(rctx, host)
	if err == nil && len(addrs) == 0 {
		err = fmt.Errorf("no address for %s", host)
	}
	return addrs, err
}

// Allow is an administrator's allow-list of internal networks that may
// be reached anyway (a partner on the government extranet, a simulator
// on loopback in tests).
type Allow []netip.Prefix

// ParseAllow reads a comma-separated list of CIDRs or addresses.
func ParseAllow(list string) (Allow, error) {
	var out Allow
	for _, s := range strings.Split(list, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		if !strings.Contains(s, "/") {
			a, err := netip.ParseAddr(s)
			if err != nil {
				return nil, fmt.Errorf("netguard: %q is not an address or CIDR", s)
			}
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("netguard: %q is not an address or CIDR", s)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// Forbidden reports an address neither public nor allowed.
func (a Allow) Forbidden(addr string) bool {
	if !Internal(addr) {
		return false
	}
	ip, err := netip.ParseAddr(strings.Trim(addr, "[]"))
	if err != nil {
		return true
	}
	ip = ip.Unmap()
	for _, p := range a {
		if p.Contains(ip) {
			return false
		}
	}
	return true
}

// Refused is the error for a forbidden address.
type Refused struct{ Addr string }

func (e *Refused) Error() string { return "netguard: address " + e.Addr + " is internal and not allowed" }

// Check resolves host and refuses it when any of its addresses is
// forbidden; it returns the addresses.
func (a Allow) Check(ctx context.Context, host string) ([]string, error) {
	addrs, err := Resolve(ctx, host)
	if err != nil {
		return nil, err
	}
	for _, ad := range addrs {
		if a.Forbidden(ad) {
			return addrs, &Refused{Addr: ad}
		}
	}
	return addrs, nil
}

// Client is an HTTP client whose every connection (redirects included)
// is checked against the allow-list at dial time.
func (a Allow) Client(timeout time.Duration) *http.Client {
	d := &net.Dialer{Timeout: 10 * time.Second, Control: func(_, address string, _ syscall.RawConn) error {
		host, _, err := net.SplitHostPort(address)
		if err != nil {
			return err
		}
		if a.Forbidden(host) {
			return &Refused{Addr: host}
		}
		return nil
	}}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil // a proxy would connect for us, past the check
	tr.DialContext = d.DialContext
	return &http.Client{Timeout: timeout, Transport: tr}
}
