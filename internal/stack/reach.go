package stack

import (
	"fmt"
	"net/netip"
	"net/url"
	"sort"
	"strings"
)

// CheckReachable checks a cluster whose BMCs listen where other hosts reach them (a BMC
// URL whose host is not a loopback one): the services those BMCs and their nodes call
// must be reachable from those hosts too. BOS (the nodes report to it, and its event
// subscriptions name its URL), HSM (every BMC's power events), BSS (boot scripts) and
// CFS (reports) must not be at loopback or unspecified addresses then.
func CheckReachable(u URLs) error {
	ids := make([]string, 0, len(u.BMCs))
	for id := range u.BMCs {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		if h := urlHost(u.BMCs[id]); h != "" && !localOnly(h) {
			return checkServicesReachable(u, fmt.Sprintf("BMC %s listens for other hosts (%s)", id, u.BMCs[id]))
		}
	}
	return nil
}

// checkServicesReachable says which service the BMCs and nodes call is at an address of
// its own host only; why says why it must not be.
func checkServicesReachable(u URLs, why string) error {
	for _, svc := range []struct{ name, url, flag, use string }{
		{BOS, u.BOS, "bos sim --bos-url, bos serve --advertise", "the nodes report to BOS and the BMCs post BOS's power events there"},
		{HSM, u.HSM, "bos sim --advertise (or --host) where HSM runs", "the BMCs post their power events to HSM"},
		{BSS, u.BSS, "bos sim --advertise (or --host) where BSS runs", "the nodes fetch their boot scripts there"},
		{CFS, u.CFS, "bos sim --advertise (or --host) where CFS runs", "the nodes report to CFS"},
	} {
		if svc.url != "" && localOnly(urlHost(svc.url)) {
			return fmt.Errorf("%s, but the %s URL %s is only reachable from its own host (%s): give an address the other hosts reach (%s)",
				why, svc.name, svc.url, svc.use, svc.flag)
		}
	}
	return nil
}

// urlHost is the host of a URL ("" if it has none).
func urlHost(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Hostname()
}

// localOnly says a host is reachable from its own host only: a loopback or unspecified
// address, or localhost.
func localOnly(h string) bool {
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	a, err := netip.ParseAddr(h)
	return err == nil && (a.IsLoopback() || a.IsUnspecified())
}
