package problem

import "net/http"

// Connexion's texts for a path no route serves and a method the path does not take, as
// the Python services (CFS, IMS) answer them.
const (
	NoRouteDetail  = "The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again."
	NoMethodDetail = "The method is not allowed for the requested URL."
)

// Routes serves mux, answering what it has no route for with problem+json instead of the
// mux's plain text: 404 for an unknown path, 405 (with its Allow header) for a method the
// path does not take.
func Routes(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, pattern := mux.Handler(r)
		if pattern != "" {
			mux.ServeHTTP(w, r)
			return
		}
		probe := &statusProbe{header: http.Header{}}
		h.ServeHTTP(probe, r) // the mux's own 404 or 405, to learn which
		if allow := probe.header.Get("Allow"); allow != "" {
			w.Header().Set("Allow", allow)
		}
		switch probe.status {
		case http.StatusMethodNotAllowed:
			WriteDetails(w, &Details{Type: "about:blank", Title: "Method Not Allowed", Status: probe.status, Detail: NoMethodDetail})
		case http.StatusNotFound, 0:
			WriteDetails(w, &Details{Type: "about:blank", Title: "Not Found", Status: http.StatusNotFound, Detail: NoRouteDetail})
		default: // a redirect or anything else the mux decided: as it is
			mux.ServeHTTP(w, r)
		}
	})
}

// statusProbe records the status and headers a handler writes, and drops its body.
type statusProbe struct {
	header http.Header
	status int
}

func (p *statusProbe) Header() http.Header         { return p.header }
func (p *statusProbe) Write(b []byte) (int, error) { return len(b), nil }
func (p *statusProbe) WriteHeader(status int)      { p.status = status }
