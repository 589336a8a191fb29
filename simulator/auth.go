package simulator

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"slices"
	"strconv"
	"sync/atomic"
)

// Authentication: Basic on every request, or an X-Auth-Token from SessionService. Sessions
// expire after Timing.SessionTimeout without use (checked when used, swept at login).

type session struct {
	id, token, user string
	lastUsed        atomic.Int64 // unix nanoseconds
}

func (s *Simulator) checkCredentials(b *bmc, user, pass string) bool {
	u := subtle.ConstantTimeCompare([]byte(user), []byte(b.username))
	p := subtle.ConstantTimeCompare([]byte(pass), []byte(b.password))
	return u&p == 1
}

// authorized accepts a live session token or valid Basic credentials.
func (s *Simulator) authorized(r *http.Request, b *bmc) bool {
	if tok := r.Header.Get("X-Auth-Token"); tok != "" {
		now := s.now().UnixNano()
		b.mu.Lock()
		sess := b.tokens[tok]
		if sess != nil && now-sess.lastUsed.Load() > int64(s.timing.SessionTimeout) {
			b.dropSession(sess)
			sess = nil
		}
		b.mu.Unlock()
		if sess == nil {
			return false
		}
		sess.lastUsed.Store(now)
		return true
	}
	user, pass, ok := r.BasicAuth()
	return ok && s.checkCredentials(b, user, pass)
}

// dropSession removes a session. Called with b.mu held.
func (b *bmc) dropSession(sess *session) {
	delete(b.sessions, sess.id)
	delete(b.tokens, sess.token)
}

// sweepSessions drops expired sessions. Called with b.mu held.
func (s *Simulator) sweepSessions(b *bmc) {
	now := s.now().UnixNano()
	for _, sess := range b.sessions {
		if now-sess.lastUsed.Load() > int64(s.timing.SessionTimeout) {
			b.dropSession(sess)
		}
	}
}

type sessionJSON struct {
	ODataID   string  `json:"@odata.id"`
	ODataType string  `json:"@odata.type"`
	ID        string  `json:"Id"`
	Name      string  `json:"Name"`
	UserName  string  `json:"UserName"`
	Password  *string `json:"Password"`
}

func (sess *session) json() sessionJSON {
	return sessionJSON{ODataID: "/redfish/v1/SessionService/Sessions/" + sess.id, ODataType: "#Session.v1_8_0.Session",
		ID: sess.id, Name: "User Session", UserName: sess.user}
}

// postSession logs in: 201, X-Auth-Token, Location and the Session (redfishtool needs all three).
func (s *Simulator) postSession(w http.ResponseWriter, r *http.Request, b *bmc) {
	var body struct {
		UserName *string `json:"UserName"`
		Password *string `json:"Password"`
	}
	if !decodeBody(w, r, &body) {
		return
	}
	switch {
	case body.UserName == nil:
		writeError(w, http.StatusBadRequest, msgPropertyMissing, "UserName")
		return
	case body.Password == nil:
		writeError(w, http.StatusBadRequest, msgPropertyMissing, "Password")
		return
	case !s.checkCredentials(b, *body.UserName, *body.Password):
		writeError(w, http.StatusUnauthorized, msgNoValidSession)
		return
	}
	var raw [16]byte
	_, _ = rand.Read(raw[:])
	b.mu.Lock()
	s.sweepSessions(b)
	if s.cfg.MaxSessions > 0 && len(b.sessions) >= s.cfg.MaxSessions {
		b.mu.Unlock()
		writeError(w, http.StatusServiceUnavailable, msgSessionLimitExceeded)
		return
	}
	b.nextSession++
	sess := &session{id: strconv.FormatUint(b.nextSession, 10), token: hex.EncodeToString(raw[:]), user: *body.UserName}
	sess.lastUsed.Store(s.now().UnixNano())
	b.sessions[sess.id] = sess
	b.tokens[sess.token] = sess
	b.mu.Unlock()
	w.Header().Set("X-Auth-Token", sess.token)
	w.Header().Set("Location", "/redfish/v1/SessionService/Sessions/"+sess.id)
	writeJSON(w, http.StatusCreated, sess.json())
}

func (s *Simulator) getSessions(w http.ResponseWriter, r *http.Request, b *bmc) {
	b.mu.Lock()
	s.sweepSessions(b)
	ids := make([]uint64, 0, len(b.sessions))
	for id := range b.sessions {
		n, _ := strconv.ParseUint(id, 10, 64)
		ids = append(ids, n)
	}
	b.mu.Unlock()
	slices.Sort(ids)
	members := make([]odataRef, len(ids))
	for i, id := range ids {
		members[i] = odataRef{"/redfish/v1/SessionService/Sessions/" + strconv.FormatUint(id, 10)}
	}
	writeJSON(w, http.StatusOK, collection("/redfish/v1/SessionService/Sessions", "#SessionCollection.SessionCollection",
		"Session Collection", members))
}

func (s *Simulator) getSession(w http.ResponseWriter, r *http.Request, b *bmc) {
	b.mu.Lock()
	sess := b.sessions[r.PathValue("id")]
	b.mu.Unlock()
	if sess == nil {
		writeError(w, http.StatusNotFound, msgResourceNotFound, "Session", r.PathValue("id"))
		return
	}
	writeJSON(w, http.StatusOK, sess.json())
}

// deleteSession logs out: 204; a second DELETE is 404.
func (s *Simulator) deleteSession(w http.ResponseWriter, r *http.Request, b *bmc) {
	b.mu.Lock()
	sess := b.sessions[r.PathValue("id")]
	if sess != nil {
		b.dropSession(sess)
	}
	b.mu.Unlock()
	if sess == nil {
		writeError(w, http.StatusNotFound, msgResourceNotFound, "Session", r.PathValue("id"))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

type sessionServiceJSON struct {
	ODataID        string     `json:"@odata.id"`
	ODataType      string     `json:"@odata.type"`
	ID             string     `json:"Id"`
	Name           string     `json:"Name"`
	ServiceEnabled bool       `json:"ServiceEnabled"`
	SessionTimeout int        `json:"SessionTimeout"`
	Status         statusJSON `json:"Status"`
	Sessions       odataRef   `json:"Sessions"`
}

func (s *Simulator) getSessionService(w http.ResponseWriter, r *http.Request, b *bmc) {
	writeJSON(w, http.StatusOK, sessionServiceJSON{ODataID: "/redfish/v1/SessionService",
		ODataType: "#SessionService.v1_2_0.SessionService", ID: "SessionService", Name: "Session Service",
		ServiceEnabled: true, SessionTimeout: int(s.timing.SessionTimeout.Seconds()), Status: statusJSON{"Enabled", "OK"},
		Sessions: odataRef{"/redfish/v1/SessionService/Sessions"}})
}
