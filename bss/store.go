package bss

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"
	"unicode"

	"github.com/cray-bos/bos/api/bssapi"
	"github.com/cray-bos/bos/internal/problem"
)

// Special host keys.
const (
	defaultKey    = "Default"  // fallback for any node
	unknownPrefix = "Unknown-" // Unknown-<arch>: discovery boot for nodes HSM does not know
)

// nodeIndex is one immutable snapshot of the inventory, indexed for O(1) lookups. A refresh
// builds a new one and swaps it in, so the boot script path reads it without locking.
type nodeIndex struct {
	hosts  []bssapi.Host // sorted by ID
	byID   map[string]*bssapi.Host
	byFQDN map[string]*bssapi.Host
	byMAC  map[string]*bssapi.Host // lowercase
	byNID  map[int]*bssapi.Host
	byIP   map[string]*bssapi.Host
}

func newNodeIndex(hosts []bssapi.Host) *nodeIndex {
	if hosts == nil {
		hosts = []bssapi.Host{}
	}
	sort.Slice(hosts, func(a, b int) bool { return hosts[a].ID < hosts[b].ID })
	x := &nodeIndex{hosts: hosts, byID: make(map[string]*bssapi.Host, len(hosts)), byFQDN: map[string]*bssapi.Host{},
		byMAC: make(map[string]*bssapi.Host, len(hosts)), byNID: make(map[int]*bssapi.Host, len(hosts)), byIP: map[string]*bssapi.Host{}}
	for i := range hosts {
		h := &hosts[i]
		x.byID[h.ID] = h
		for _, ip := range h.IPs {
			x.byIP[ip] = h
		}
		if h.FQDN != "" {
			x.byFQDN[h.FQDN] = h
		}
		if h.NID != 0 {
			x.byNID[h.NID] = h
		}
		if strings.EqualFold(h.State, "Empty") { // BSS ignores MACs of empty slots
			continue
		}
		for _, m := range h.MAC {
			x.byMAC[strings.ToLower(m)] = h
		}
	}
	return x
}

func (x *nodeIndex) byName(name string) (*bssapi.Host, bool) { h, ok := x.byID[name]; return h, ok }

func (x *nodeIndex) byNameOrFQDN(name string) (*bssapi.Host, bool) {
	if h, ok := x.byID[name]; ok {
		return h, true
	}
	h, ok := x.byFQDN[name]
	return h, ok
}

func (x *nodeIndex) byMACAddr(mac string) (*bssapi.Host, bool) {
	h, ok := x.byMAC[strings.ToLower(mac)]
	return h, ok
}

func (x *nodeIndex) byNIDNum(nid int) (*bssapi.Host, bool) { h, ok := x.byNID[nid]; return h, ok }

func (x *nodeIndex) byIPAddr(ip string) (*bssapi.Host, bool) { h, ok := x.byIP[ip]; return h, ok }

// entry is the boot data stored under one key (an xname, a MAC, nid<N>, a role, Default,
// Unknown-<arch>). Kernel and initrd are image paths; image-level params live in store.
type entry struct {
	params    string
	kernel    string
	initrd    string
	cloudInit bssapi.CloudInit
	token     string // referral token of the PUT/POST that last stored it
}

// bootData is an entry resolved for a boot script: the images' own params are filled in.
type bootData struct {
	params       string
	kernel       string
	kernelParams string
	initrd       string
	initrdParams string
	token        string
}

// store holds the boot parameters. All methods expect s.mu held by the caller. Every
// write goes through setHost, deleteHost and setImage, which note the key changed, so
// that the replicas (replica.go) are sent what changed and nothing else.
type store struct {
	hosts   map[string]*entry
	kernels map[string]string // kernel path → image params
	initrds map[string]string // initrd path → image params

	changed changes // since the last takeChanges
}

// changes are the keys written since the last takeChanges, of each map.
type changes struct{ hosts, kernels, initrds map[string]struct{} }

func newStore() *store {
	return &store{hosts: map[string]*entry{}, kernels: map[string]string{}, initrds: map[string]string{}}
}

// note records that key of one of the maps changed.
func note(set *map[string]struct{}, key string) {
	if *set == nil {
		*set = map[string]struct{}{}
	}
	(*set)[key] = struct{}{}
}

// resolve turns an entry into boot data.
func (s *store) resolve(e *entry) bootData {
	return bootData{params: e.params, kernel: e.kernel, kernelParams: s.kernels[e.kernel],
		initrd: e.initrd, initrdParams: s.initrds[e.initrd], token: e.token}
}

// lookup implements BSS's resolution order: the host key, then the alternate key (the
// literal name, MAC or nid<N> asked for), then the node's role, then Default.
func (s *store) lookup(name, alt, role string) (bootData, bool) {
	if e := s.entryFor(name, alt, role); e != nil {
		return s.resolve(e), true
	}
	return bootData{}, false
}

// entryFor is lookup's entry itself (nil if none, not even Default).
func (s *store) entryFor(name, alt, role string) *entry {
	for _, k := range [...]string{name, alt, role, defaultKey} {
		if k == "" {
			continue
		}
		if e, ok := s.hosts[k]; ok {
			return e
		}
	}
	return nil
}

// exact resolves the entry stored under k alone (zero if none).
func (s *store) exact(k string) bootData {
	if e, ok := s.hosts[k]; ok {
		return s.resolve(e)
	}
	return bootData{}
}

func (s *store) setHost(k string, e *entry) { s.hosts[k] = e; note(&s.changed.hosts, k) }

func (s *store) deleteHost(k string) { delete(s.hosts, k); note(&s.changed.hosts, k) }

// setImage sets the params of a kernel (kernel true) or initrd image.
func (s *store) setImage(kernel bool, path, params string) {
	if kernel {
		s.kernels[path] = params
		note(&s.changed.kernels, path)
	} else {
		s.initrds[path] = params
		note(&s.changed.initrds, path)
	}
}

// deleteImage removes a kernel (kernel true) or initrd image.
func (s *store) deleteImage(kernel bool, path string) {
	if kernel {
		delete(s.kernels, path)
		note(&s.changed.kernels, path)
	} else {
		delete(s.initrds, path)
		note(&s.changed.initrds, path)
	}
}

// params renders the entry stored under key as a GET reply element.
func (s *store) params(key string, e *entry) bssapi.BootParams {
	return bssapi.BootParams{Hosts: []string{key}, Params: e.params, Kernel: e.kernel, Initrd: e.initrd,
		CloudInit: cloneCloudInit(e.cloudInit)}
}

// all lists image entries (kernels, then initrds) and then host entries, each sorted.
func (s *store) all() []bssapi.BootParams {
	out := make([]bssapi.BootParams, 0, len(s.kernels)+len(s.initrds)+len(s.hosts))
	for _, p := range slices.Sorted(maps.Keys(s.kernels)) {
		out = append(out, bssapi.BootParams{Kernel: p, Params: s.kernels[p]})
	}
	for _, p := range slices.Sorted(maps.Keys(s.initrds)) {
		out = append(out, bssapi.BootParams{Initrd: p, Params: s.initrds[p]})
	}
	for _, k := range slices.Sorted(maps.Keys(s.hosts)) {
		out = append(out, s.params(k, s.hosts[k]))
	}
	return out
}

var macPattern = regexp.MustCompile(`^([0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2}$`)

// validate rejects what BSS cannot store: empty host names, malformed MACs, negative NIDs.
func validate(bp *bssapi.BootParams) *problem.Details {
	for _, h := range bp.Hosts {
		if strings.TrimSpace(h) == "" {
			return problem.New(http.StatusBadRequest, "Bad Request: empty host name in hosts")
		}
	}
	for _, m := range bp.Macs {
		if !macPattern.MatchString(m) {
			return problem.New(http.StatusBadRequest, "Bad Request: invalid MAC address format: %s", m)
		}
	}
	for _, n := range bp.Nids {
		if n < 0 {
			return problem.New(http.StatusBadRequest, "Bad Request: invalid nid %d", n)
		}
	}
	for _, h := range bp.Hosts {
		if d := scriptWord("hosts", h); d != nil {
			return d
		}
	}
	if d := scriptWord("kernel", bp.Kernel); d != nil {
		return d
	}
	if d := scriptWord("initrd", bp.Initrd); d != nil {
		return d
	}
	return scriptParams(bp.Params)
}

// What goes into iPXE script text is checked on input: iPXE runs each line as commands,
// splits words on white space and treats the words ||, && and ; as command separators, so
// a newline or such a word in a stored value would add commands to every boot script.

// scriptWord refuses a value emitted as one iPXE word (a URL, a host name) that holds a
// control character or white space.
func scriptWord(field, v string) *problem.Details {
	for i, r := range v {
		if unicode.IsControl(r) || unicode.IsSpace(r) {
			return problem.New(http.StatusBadRequest, "Bad Request: %s must not contain control characters or white space (%U at byte %d)", field, r, i)
		}
	}
	return nil
}

// scriptParams refuses kernel parameters with control characters (newline, tab, ...)
// or an iPXE command separator word (||, &&, ;).
func scriptParams(v string) *problem.Details {
	for i, r := range v {
		if unicode.IsControl(r) {
			return problem.New(http.StatusBadRequest, "Bad Request: params must not contain control characters (%U at byte %d)", r, i)
		}
	}
	for _, w := range strings.Fields(v) {
		if w == "||" || w == "&&" || w == ";" {
			return problem.New(http.StatusBadRequest, "Bad Request: params must not contain the word %q (an iPXE command separator)", w)
		}
	}
	return nil
}

// targets applies the keying rules for storing: hosts as given (no normalization), else
// each MAC resolved to its node's xname (unresolved MACs are keys themselves), else each
// NID resolved to its xname (unresolved: nid<N>). Nil means "no host targets".
func targets(bp *bssapi.BootParams, inv *nodeIndex) []string {
	switch {
	case len(bp.Hosts) > 0:
		return bp.Hosts
	case len(bp.Macs) > 0:
		out := make([]string, 0, len(bp.Macs))
		for _, m := range bp.Macs {
			if h, ok := inv.byMACAddr(m); ok {
				out = append(out, h.ID)
			} else {
				out = append(out, m)
			}
		}
		return out
	case len(bp.Nids) > 0:
		out := make([]string, 0, len(bp.Nids))
		for _, n := range bp.Nids {
			if h, ok := inv.byNIDNum(n); ok {
				out = append(out, h.ID)
			} else {
				out = append(out, nidName(n))
			}
		}
		return out
	}
	return nil
}

// existingKeys resolves every host, MAC and NID of bp (all three lists, as PATCH and DELETE
// do) to the key of an existing entry: the node's xname if it has an entry, else the literal
// MAC or nid<N>. It fails on the first selector with no entry.
func (s *store) existingKeys(bp *bssapi.BootParams, inv *nodeIndex) ([]string, error) {
	var keys []string
	seen := map[string]bool{}
	add := func(k string) {
		if !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	for _, h := range bp.Hosts {
		if _, ok := s.hosts[h]; !ok {
			return nil, fmt.Errorf("Key /params/%s does not exist", h)
		}
		add(h)
	}
	resolveOr := func(id, literal, what string) error {
		if _, ok := s.hosts[id]; id != "" && ok {
			add(id)
			return nil
		}
		if _, ok := s.hosts[literal]; ok {
			add(literal)
			return nil
		}
		return fmt.Errorf("no boot parameters for %s", what)
	}
	for _, m := range bp.Macs {
		id := ""
		if h, ok := inv.byMACAddr(m); ok {
			id = h.ID
		}
		if err := resolveOr(id, m, "MAC "+m); err != nil {
			return nil, err
		}
	}
	for _, n := range bp.Nids {
		id := ""
		if h, ok := inv.byNIDNum(n); ok {
			id = h.ID
		}
		if err := resolveOr(id, nidName(n), fmt.Sprintf("NID %d", n)); err != nil {
			return nil, err
		}
	}
	return keys, nil
}

func nidName(n int) string { return fmt.Sprintf("nid%d", n) }

// registerImages makes sure the kernel and initrd of bp exist as images (with no params if new).
func (s *store) registerImages(bp *bssapi.BootParams) {
	if _, ok := s.kernels[bp.Kernel]; bp.Kernel != "" && !ok {
		s.setImage(true, bp.Kernel, "")
	}
	if _, ok := s.initrds[bp.Initrd]; bp.Initrd != "" && !ok {
		s.setImage(false, bp.Initrd, "")
	}
}

// put stores bp under keys with token (PUT and POST), or, with no keys, sets the params of
// the kernel (else initrd) image. It reports false when there is nothing to store.
func (s *store) put(bp *bssapi.BootParams, keys []string, token string) bool {
	switch {
	case len(keys) > 0:
		s.registerImages(bp)
		for _, k := range keys {
			s.setHost(k, &entry{params: bp.Params, kernel: bp.Kernel, initrd: bp.Initrd,
				cloudInit: cloneCloudInit(bp.CloudInit), token: token})
		}
	case bp.Kernel != "":
		s.registerImages(bp)
		s.setImage(true, bp.Kernel, bp.Params)
	case bp.Initrd != "":
		s.registerImages(bp)
		s.setImage(false, bp.Initrd, bp.Params)
	default:
		return false
	}
	return true
}

// existing names the first target of a POST that already has data ("" if none).
func (s *store) existing(bp *bssapi.BootParams, keys []string) string {
	if len(keys) > 0 {
		for i, k := range keys {
			if _, ok := s.hosts[k]; ok {
				switch {
				case len(bp.Hosts) > 0:
					return k
				case len(bp.Macs) > 0:
					return bp.Macs[i]
				default:
					return fmt.Sprint(bp.Nids[i])
				}
			}
		}
		return ""
	}
	if _, ok := s.kernels[bp.Kernel]; bp.Kernel != "" && ok {
		return bp.Kernel
	}
	if _, ok := s.initrds[bp.Initrd]; bp.Initrd != "" && ok {
		return bp.Initrd
	}
	return ""
}

// patch updates the non-empty fields of bp on each key; cloud-init maps are merged. With no
// keys it updates the kernel (else initrd) image's params.
func (s *store) patch(bp *bssapi.BootParams, keys []string) {
	s.registerImages(bp)
	if len(keys) == 0 {
		switch {
		case bp.Kernel != "":
			s.setImage(true, bp.Kernel, bp.Params)
		case bp.Initrd != "":
			s.setImage(false, bp.Initrd, bp.Params)
		}
		return
	}
	for _, k := range keys {
		old := s.hosts[k]
		e := *old
		if bp.Params != "" {
			e.params = bp.Params
		}
		if bp.Kernel != "" {
			e.kernel = bp.Kernel
		}
		if bp.Initrd != "" {
			e.initrd = bp.Initrd
		}
		e.cloudInit = mergeCloudInit(old.cloudInit, bp.CloudInit)
		s.setHost(k, &e)
	}
}

// remove deletes the host keys and the selected images; entries that used a removed image
// keep their other fields. The caller has checked that every host key exists; a missing
// image is nothing to remove.
func (s *store) remove(keys []string, kernel, initrd string) {
	for _, k := range keys {
		s.deleteHost(k)
	}
	if kernel != "" {
		s.deleteImage(true, kernel)
	}
	if initrd != "" {
		s.deleteImage(false, initrd)
	}
	if kernel == "" && initrd == "" {
		return
	}
	for k, e := range s.hosts {
		if (kernel != "" && e.kernel == kernel) || (initrd != "" && e.initrd == initrd) {
			c := *e
			if kernel != "" && c.kernel == kernel {
				c.kernel = ""
			}
			if initrd != "" && c.initrd == initrd {
				c.initrd = ""
			}
			s.setHost(k, &c)
		}
	}
}

// mergeCloudInit applies p to d: meta-data and user-data by RFC 7386 merge patch (null
// deletes a key), phone-home replaced when p sets any of it.
func mergeCloudInit(d, p bssapi.CloudInit) bssapi.CloudInit {
	out := cloneCloudInit(d)
	out.MetaData = mergePatch(out.MetaData, p.MetaData)
	out.UserData = mergePatch(out.UserData, p.UserData)
	if p.PhoneHome != (bssapi.PhoneHome{}) {
		out.PhoneHome = p.PhoneHome
	}
	return out
}

func mergePatch(dst, patch map[string]any) map[string]any {
	if len(patch) == 0 {
		return dst
	}
	if dst == nil {
		dst = map[string]any{}
	}
	for k, v := range patch {
		switch pv := v.(type) {
		case nil:
			delete(dst, k)
		case map[string]any:
			sub, _ := dst[k].(map[string]any)
			dst[k] = mergePatch(sub, pv)
		default:
			dst[k] = v
		}
	}
	return dst
}

// cloneCloudInit deep-copies c so stored data never aliases request or reply data.
func cloneCloudInit(c bssapi.CloudInit) bssapi.CloudInit {
	return bssapi.CloudInit{MetaData: cloneMap(c.MetaData), UserData: cloneMap(c.UserData), PhoneHome: c.PhoneHome}
}

func cloneMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return nil
	}
	var out map[string]any
	if json.Unmarshal(raw, &out) != nil {
		return nil
	}
	return out
}
