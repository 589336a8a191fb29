package bss

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"

	"github.com/cray-bos/bos/api/bssapi"
)

// scriptRequest is a parsed GET /bootscript query.
type scriptRequest struct {
	mac, name, arch string
	nid             int // -1: not given
	retry           int
	ts              int64
}

// scriptVars are the per-node values BSS adds to the kernel command line.
type scriptVars struct {
	xname, nid, token string
}

// errNotConfigured is the 404 detail suffix BSS uses when no kernel is found.
var errNotConfigured = errors.New("this host not configured for booting.")

// bootScript resolves req against the inventory and store and renders the iPXE script, or
// returns the error BSS sends as a 404, plus the node it served (for endpoint history).
// The caller holds s.mu for reading. Every step is a map lookup: O(1) in the node count.
func (s *Server) bootScript(inv *nodeIndex, st *store, req scriptRequest) (script, served string, err error) {
	var host *bssapi.Host
	var descr, alt string
	switch {
	case req.mac != "":
		host, _ = inv.byMACAddr(req.mac)
		descr, alt = "MAC "+req.mac, req.mac
	case req.name != "":
		host, _ = inv.byName(req.name)
		descr, alt = req.name, req.name
	default:
		host, _ = inv.byNIDNum(req.nid)
		descr, alt = fmt.Sprintf("NID %d", req.nid), nidName(req.nid)
	}
	key, role := alt, ""
	if host != nil {
		key, role = host.ID, host.Role
		if host.ID != req.name {
			descr += " (" + host.ID + ")"
		}
	}
	bd, _ := st.lookup(key, alt, role)

	unknown := host == nil || !host.EndpointEnabled || bd.kernel == ""
	if unknown {
		descr = "Unknown " + descr
		if req.arch != "" {
			descr += " architecture " + req.arch
		}
		script, err = s.unknownScript(st, host, req, descr)
		if err == nil || host == nil {
			return script, "", err
		}
		// No discovery kernel: a node HSM knows still gets its own script if it has one.
	}

	mac := req.mac
	if mac == "" && len(host.MAC) > 0 {
		mac = host.MAC[0]
	}
	chain := "chain " + s.chainBase + "/boot/v1/bootscript"
	if mac != "" {
		chain += "?mac=" + queryValue(mac)
	} else {
		chain += "?name=" + queryValue(host.ID)
	}
	chain += "&retry=" + strconv.Itoa(req.retry+1)
	vars := scriptVars{xname: host.ID, token: bd.token}
	if host.NID != 0 {
		vars.nid = strconv.Itoa(host.NID)
	}
	script, err = s.render(bd, vars, chain, descr)
	return script, host.ID, err
}

// hsmRetrievalDelay is the "sleep" of the script that asks an unknown node to come back with
// its architecture (the real BSS's hsmRetrievalDelay).
const hsmRetrievalDelay = 10

// unknownScript is BSS's discovery path. Without an arch it asks iPXE to sleep and come back
// with ${buildarch}; with one it boots Unknown-<arch>.
func (s *Server) unknownScript(st *store, host *bssapi.Host, req scriptRequest, descr string) (string, error) {
	name, mac, nid := req.name, req.mac, req.nid
	if host != nil {
		if name == "" {
			name = host.ID
		}
		if host.NID != 0 {
			nid = host.NID
		}
		if mac == "" && len(host.MAC) > 0 {
			mac = host.MAC[0]
		}
	}
	chain := "chain " + s.chainBase + "/boot/v1/bootscript"
	switch {
	case mac != "":
		chain += "?mac=" + queryValue(mac)
	case name != "":
		chain += "?name=" + queryValue(name)
	case nid >= 0:
		chain += fmt.Sprintf("?nid=%d", nid)
	default:
		chain += "?mac=${net/net0}"
	}
	chain += fmt.Sprintf("&arch=${buildarch}&ts=%d", req.ts)
	if req.arch == "" {
		// The real BSS answers every archless unknown request with its "refreshing HSM
		// data" script (checkState(true) always reports a refresh), whatever it has stored.
		return fmt.Sprintf("#!ipxe\nsleep %d\n%s\n", hsmRetrievalDelay, chain), nil
	}
	// Unknown-<arch> alone: the discovery lookup has no role and no Default fallback.
	return s.render(st.exact(unknownPrefix+req.arch), scriptVars{}, chain, descr)
}

// render builds the iPXE script of section 3.4: the kernel line carries the stored params,
// the kernel and initrd images' params, then xname=, nid=, bss_referral_token= and ds=
// unless already present, with initrd=initrd first when there is an initrd.
func (s *Server) render(bd bootData, v scriptVars, chain, descr string) (string, error) {
	if bd.kernel == "" {
		return "", fmt.Errorf("%s: %w", descr, errNotConfigured)
	}
	// One split of the stored params, then the added ones appended as words: the same
	// words as joining them into one string and splitting that again, without the copies.
	fields := make([]string, 0, 16)
	fields = appendFields(fields, bd.params)
	fields = appendFields(fields, bd.kernelParams)
	fields = appendFields(fields, bd.initrdParams)
	fields = addParam(fields, "xname=", v.xname)
	fields = addParam(fields, "nid=", v.nid)
	fields = addParam(fields, "bss_referral_token=", v.token)
	fields = addParam(fields, "ds=", "nocloud-net;s="+s.advertise+"/")
	fields = s.rewriteS3Params(fields)

	if bd.initrd != "" {
		kept := fields[:0]
		for _, f := range fields {
			if !strings.HasPrefix(f, "initrd=") {
				kept = append(kept, f)
			}
		}
		fields = append(kept, "")
		copy(fields[1:], fields)
		fields[0] = "initrd=initrd"
	}
	size := 0
	for _, f := range fields {
		size += 1 + len(f)
	}

	var b strings.Builder
	b.Grow(256 + size + len(bd.kernel) + len(bd.initrd) + len(chain))
	b.WriteString("#!ipxe\nkernel --name kernel ")
	b.WriteString(s.rewriteS3(bd.kernel))
	for _, f := range fields {
		b.WriteByte(' ')
		b.WriteString(f)
	}
	b.WriteString(" || goto boot_retry\n")
	if bd.initrd != "" {
		b.WriteString("initrd --name initrd ")
		b.WriteString(s.rewriteS3(bd.initrd))
		b.WriteString(" || goto boot_retry\n")
	}
	b.WriteString("imgstat || echo Could not show image information.\n")
	b.WriteString("boot || goto boot_retry\n:boot_retry\n")
	b.WriteString("sleep ")
	b.WriteString(strconv.Itoa(int(s.retryDelay.Seconds())))
	b.WriteByte('\n')
	b.WriteString(chain)
	b.WriteByte('\n')
	return b.String(), nil
}

// appendFields appends the white-space separated words of text to fields.
func appendFields(fields []string, text string) []string {
	for f := range strings.FieldsSeq(text) {
		fields = append(fields, f)
	}
	return fields
}

// addParam appends the words of name+val unless a parameter starting with name is
// already present.
func addParam(fields []string, name, val string) []string {
	if val == "" {
		return fields
	}
	for _, f := range fields {
		if strings.HasPrefix(f, name) {
			return fields
		}
	}
	if strings.ContainsFunc(val, unicode.IsSpace) {
		return appendFields(fields, name+val)
	}
	return append(fields, name+val)
}

// rewriteS3 maps s3://bucket/key to <S3URL>/bucket/key (the real BSS presigns against its
// S3 endpoint); other URLs, and every URL when no S3URL is configured, are left alone. The
// text is kept as written, never percent-decoded: a decoded %0A would be a new iPXE line.
func (s *Server) rewriteS3(u string) string {
	if s.s3URL == "" || len(u) < 5 || !strings.EqualFold(u[:5], "s3://") {
		return u
	}
	bucket, key, _ := strings.Cut(u[5:], "/")
	if bucket == "" { // s3:///bucket/key
		bucket, key, _ = strings.Cut(key, "/")
	}
	return s.s3URL + "/" + bucket + "/" + key
}

// rewriteS3Params rewrites the s3:// values of metal.server= and root=live: parameters, the
// two kernel parameters the real BSS presigns. fields are words (no white space), so only
// a rewritten one can need splitting.
func (s *Server) rewriteS3Params(fields []string) []string {
	if s.s3URL == "" {
		return fields
	}
	var out []string // the words so far once a rewrite gave more than one
	for i, f := range fields {
		rewritten := false
		for _, prefix := range [...]string{"metal.server=", "root=live:"} {
			if strings.HasPrefix(f, prefix) && strings.HasPrefix(f[len(prefix):], "s3://") {
				f, rewritten = prefix+s.rewriteS3(f[len(prefix):]), true
			}
		}
		if out == nil && rewritten && strings.ContainsFunc(f, unicode.IsSpace) {
			out = append(make([]string, 0, len(fields)+4), fields[:i]...)
		}
		if out != nil {
			out = appendFields(out, f)
		} else {
			fields[i] = f
		}
	}
	if out != nil {
		return out
	}
	return fields
}

// queryEscaper escapes what would end or change a query value in the chain URL (& # ; +
// %) and iPXE's settings expansion ($), and nothing else, so MACs and xnames read as BSS
// writes them.
var queryEscaper = strings.NewReplacer("%", "%25", "&", "%26", "#", "%23", ";", "%3B", "+", "%2B", "$", "%24")

// queryValue is v escaped for the chain URL's query, so the chained request asks for the
// same node (a name such as "a&arch=x" must not add a parameter).
func queryValue(v string) string { return queryEscaper.Replace(v) }
