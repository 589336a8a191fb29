package store

import (
	"testing"
	"time"

	"github.com/cray-bos/bos/orchestrator"
)

// FuzzHistoryElement: a packed element reads back as the entries written, whatever their
// strings (a kind outside the table included); and any stored bytes read as entries or an
// error, never a panic.
func FuzzHistoryElement(f *testing.F) {
	f.Add(int64(1796547600123456789), "3f2a9c1e-5b7d", "phase", "powering_on", "configuring", "", "error", "x\x00\xff", string(make([]byte, 200)))
	f.Add(int64(-1), "", "", "", "", "", "new-kind", "", "")
	f.Fuzz(func(t *testing.T, nanos int64, session, kind1, from1, to1, detail1, kind2, from2, detail2 string) {
		want := []orchestrator.HistoryEntry{
			{Time: time.Unix(0, nanos).UTC(), Kind: kind1, From: from1, To: to1, Detail: detail1, Session: session},
			{Time: time.Unix(0, nanos).UTC(), Kind: kind2, From: from2, Detail: detail2, Session: session},
		}
		elem := appendHistoryHead(nil, want[0].Time, session)
		for _, e := range want {
			elem = appendHistoryEntry(elem, e.Kind, e.From, e.To, e.Detail)
		}
		got, err := decodeHistory(nil, string(elem))
		if err != nil || len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
			t.Fatalf("read back %+v, %v; wrote %+v", got, err, want)
		}
		for _, raw := range []string{session, kind1 + from1, string(elem[:len(elem)/2])} {
			_, _ = decodeHistory(nil, raw)
		}
	})
}

// An entry whose kind code this version does not know (a newer BOS's, during an upgrade)
// reads with a placeholder kind and its other fields; the entries after it read too.
func TestHistoryElementWithANewerKind(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 14, 0, 0, 0, time.UTC)
	elem := appendHistoryHead(nil, t0, "s1")
	elem = append(elem, 200) // a code past the table
	elem = appendPackedString(appendPackedString(appendPackedString(elem, "a"), "b"), "c")
	elem = appendHistoryEntry(elem, orchestrator.HistoryPhase, "none", "powering_on", "")
	got, err := decodeHistory(nil, string(elem))
	if err != nil {
		t.Fatal(err)
	}
	want := []orchestrator.HistoryEntry{
		{Time: t0, Kind: "unknown-200", From: "a", To: "b", Detail: "c", Session: "s1"},
		{Time: t0, Kind: orchestrator.HistoryPhase, From: "none", To: "powering_on", Session: "s1"},
	}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("read %+v, want %+v", got, want)
	}
}
