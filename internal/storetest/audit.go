package storetest

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/linkvault/linkvault"
)

// testAuditAndTransfers runs the audit log and transfer idempotency checks.
func testAuditAndTransfers(t *testing.T, s Store) {
	t.Run("AuditLog", func(t *testing.T) { testAuditLog(t, s) })
	t.Run("TransferClaims", func(t *testing.T) { testTransferClaims(t, s) })
	t.Run("TransferConcurrentClaims", func(t *testing.T) { testTransferConcurrentClaims(t, s) })
}

func testAuditLog(t *testing.T, s Store) {
	ctx := t.Context()
	// An entry keeps the tokenId of a connection of its client that exists.
	tokA := mustCreateConnection(t, s, newConnection("client-a", "user-a", linkvault.BrokerCoinbase, linkvault.PermissionRead)).TokenID
	probe := linkvault.NewTokenID()
	entries := []linkvault.AuditEntry{
		{ClientID: "client-a", KeyID: "key1", TokenID: tokA, TokenRef: linkvault.TokenFingerprint(tokA), BrokerType: linkvault.BrokerCoinbase,
			Action: "holdings.get", Outcome: "ok", HTTPStatus: 200, CreatedAt: t0, Duration: 1500 * time.Microsecond},
		{ClientID: "client-a", KeyID: "key1", TokenRef: linkvault.TokenFingerprint(probe), BrokerType: linkvault.BrokerCoinbase,
			Action: "balance.get", Outcome: linkvault.ErrTypeTokenNotFound, HTTPStatus: 404, CreatedAt: t0.Add(time.Second)},
		{ClientID: "client-b", KeyID: "key2", TokenRef: linkvault.TokenFingerprint(tokA), Action: "holdings.get",
			Outcome: linkvault.ErrTypeTokenNotFound, HTTPStatus: 404, CreatedAt: t0.Add(2 * time.Second)},
		{ClientID: "client-a", KeyID: "key3", TokenID: tokA, TokenRef: linkvault.TokenFingerprint(tokA), BrokerType: linkvault.BrokerCoinbase,
			Action: "transfer.execute", Outcome: linkvault.ErrTypeScopeMismatch, HTTPStatus: 403, CreatedAt: t0.Add(3 * time.Second)},
	}
	if err := s.AppendAudit(ctx, entries[:2]); err != nil {
		t.Fatalf("AppendAudit: %v", err)
	}
	if err := s.AppendAudit(ctx, entries[2:]); err != nil {
		t.Fatalf("AppendAudit: %v", err)
	}
	if err := s.AppendAudit(ctx, nil); err != nil {
		t.Fatalf("AppendAudit(nil): %v", err)
	}
	for i := 1; i < len(entries); i++ {
		if entries[i].ID <= entries[i-1].ID {
			t.Fatalf("IDs not increasing: %d after %d", entries[i].ID, entries[i-1].ID)
		}
	}

	list := func(q linkvault.AuditQuery) []linkvault.AuditEntry {
		t.Helper()
		got, err := s.ListAudit(ctx, q)
		if err != nil {
			t.Fatalf("ListAudit(%+v): %v", q, err)
		}
		return got
	}
	ids := func(es []linkvault.AuditEntry) []int64 {
		out := make([]int64, len(es))
		for i, e := range es {
			out[i] = e.ID
		}
		return out
	}
	want := func(name string, got []linkvault.AuditEntry, wantEntries ...linkvault.AuditEntry) {
		t.Helper()
		if len(got) != len(wantEntries) {
			t.Fatalf("%s: got ids %v, want %v", name, ids(got), ids(wantEntries))
		}
		for i := range got {
			if got[i].ID != wantEntries[i].ID {
				t.Fatalf("%s: got ids %v, want %v", name, ids(got), ids(wantEntries))
			}
		}
	}

	all := list(linkvault.AuditQuery{ClientID: "client-a"})
	want("client-a, newest first", all, entries[3], entries[1], entries[0])
	got, w := all[2], entries[0]
	if got.ClientID != w.ClientID || got.KeyID != w.KeyID || got.TokenID != w.TokenID || got.TokenRef != w.TokenRef ||
		got.BrokerType != w.BrokerType || got.Action != w.Action || got.Outcome != w.Outcome ||
		got.HTTPStatus != w.HTTPStatus || got.Duration != w.Duration || !sameInstant(got.CreatedAt, w.CreatedAt) {
		t.Errorf("round trip: got %+v, want %+v", got, w)
	}
	want("client-b sees only its own", list(linkvault.AuditQuery{ClientID: "client-b"}), entries[2])
	want("by tokenId", list(linkvault.AuditQuery{ClientID: "client-a", TokenID: tokA}), entries[3], entries[0])
	want("a probed tokenId is found by its value", list(linkvault.AuditQuery{ClientID: "client-a", TokenID: probe}), entries[1])
	want("since", list(linkvault.AuditQuery{ClientID: "client-a", Since: t0.Add(time.Second)}), entries[3], entries[1])
	want("limit", list(linkvault.AuditQuery{ClientID: "client-a", Limit: 2}), entries[3], entries[1])
	want("unknown client", list(linkvault.AuditQuery{ClientID: "nobody"}))

	n, err := s.PruneAudit(ctx, t0.Add(time.Second), 100)
	if err != nil || n != 1 {
		t.Fatalf("PruneAudit = %d, %v; want 1 entry older than the cutoff", n, err)
	}
	want("after pruning", list(linkvault.AuditQuery{ClientID: "client-a"}), entries[3], entries[1])
	want("other clients' entries after the cutoff stay", list(linkvault.AuditQuery{ClientID: "client-b"}), entries[2])

	for _, q := range []linkvault.AuditQuery{{}, {ClientID: "bad id!"}, {ClientID: "client-a", Limit: -1}, {ClientID: "client-a", Limit: linkvault.AuditMaxLimit + 1}} {
		if _, err := s.ListAudit(ctx, q); linkvault.ErrorStatus(err) != linkvault.StatusBadRequest {
			t.Errorf("ListAudit(%+v) = %v, want badRequest", q, err)
		}
	}
}

func newTransfer(clientID, txID, body string) *linkvault.TransferRecord {
	return &linkvault.TransferRecord{
		ClientID: clientID, ClientTransactionID: txID, TokenID: linkvault.NewTokenID(),
		RequestHash: hashBody(body),
	}
}

func testTransferClaims(t *testing.T, s Store) {
	ctx := t.Context()
	claim := func(step string, tr *linkvault.TransferRecord, staleBefore time.Time, wantClaimed bool) *linkvault.TransferRecord {
		t.Helper()
		stored, claimed, err := s.ClaimTransfer(ctx, tr, staleBefore)
		if err != nil {
			t.Fatalf("%s: ClaimTransfer: %v", step, err)
		}
		if claimed != wantClaimed {
			t.Fatalf("%s: claimed = %v, want %v (stored %+v)", step, claimed, wantClaimed, stored)
		}
		return stored
	}
	longAgo := time.Now().Add(-time.Hour) // records updated now are not stale

	if _, err := s.GetTransfer(ctx, "client-a", "tx-1"); linkvault.ErrorStatus(err) != linkvault.StatusNotFound {
		t.Fatalf("GetTransfer before any claim = %v, want notFound", err)
	}
	tr := newTransfer("client-a", "tx-1", "body-1")
	first := claim("first claim", tr, longAgo, true)
	if first.Status != linkvault.TransferExecuting || first.Attempt != 1 || !bytes.Equal(first.RequestHash, tr.RequestHash) || first.TokenID != tr.TokenID {
		t.Fatalf("first claim stored %+v", first)
	}

	again := claim("same request while executing", newTransfer("client-a", "tx-1", "body-1"), longAgo, false)
	if again.Status != linkvault.TransferExecuting || again.Attempt != 1 {
		t.Fatalf("second claim stored %+v", again)
	}
	other := claim("different request", newTransfer("client-a", "tx-1", "body-2"), time.Now().Add(time.Hour), false)
	if !bytes.Equal(other.RequestHash, tr.RequestHash) {
		t.Fatal("a claim with a different request changed the stored hash")
	}
	claim("same id, other client", newTransfer("client-b", "tx-1", "body-2"), longAgo, true)

	// A stale executing record (its owner presumed dead) is taken over; the old owner
	// is then fenced out.
	taken := claim("stale takeover", newTransfer("client-a", "tx-1", "body-1"), time.Now().Add(time.Hour), true)
	if taken.Attempt != 2 || taken.Status != linkvault.TransferExecuting {
		t.Fatalf("takeover stored %+v", taken)
	}
	stale := *first
	stale.Status, stale.Result = linkvault.TransferCompleted, json.RawMessage(`{"from":"old owner"}`)
	if err := s.FinishTransfer(ctx, &stale); !linkvault.IsConflict(err) {
		t.Fatalf("FinishTransfer by the fenced-out owner = %v, want conflict", err)
	}

	// Interrupted: claimable again at once.
	taken.Status = linkvault.TransferInterrupted
	if err := s.FinishTransfer(ctx, taken); err != nil {
		t.Fatalf("FinishTransfer(interrupted): %v", err)
	}
	third := claim("after interruption", newTransfer("client-a", "tx-1", "body-1"), longAgo, true)
	if third.Attempt != 3 {
		t.Fatalf("attempt after interruption = %d, want 3", third.Attempt)
	}

	// Completed: final; every later claim returns the stored result unclaimed.
	result := json.RawMessage(`{"status":"succeeded","executeTransferResult":{"transferId":"t-1","amount":0.5}}`)
	third.Status, third.ProviderTransferID, third.Result = linkvault.TransferCompleted, "t-1", result
	if err := s.FinishTransfer(ctx, third); err != nil {
		t.Fatalf("FinishTransfer(completed): %v", err)
	}
	if err := s.FinishTransfer(ctx, third); !linkvault.IsConflict(err) {
		t.Fatalf("second FinishTransfer = %v, want conflict", err)
	}
	replay := claim("after completion", newTransfer("client-a", "tx-1", "body-1"), time.Now().Add(time.Hour), false)
	if replay.Status != linkvault.TransferCompleted || replay.ProviderTransferID != "t-1" || !jsonEqual(replay.Result, result) {
		t.Fatalf("replay stored %+v (result %s)", replay, replay.Result)
	}
	got, err := s.GetTransfer(ctx, "client-a", "tx-1")
	if err != nil || got.Status != linkvault.TransferCompleted || !jsonEqual(got.Result, result) || got.Attempt != 3 {
		t.Fatalf("GetTransfer = %+v, %v", got, err)
	}

	// Rejected is final too.
	rj := newTransfer("client-a", "tx-2", "body-3")
	rjStored := claim("claim tx-2", rj, longAgo, true)
	rjStored.Status, rjStored.Result = linkvault.TransferRejected, json.RawMessage(`{"errorType":"insufficientFunds"}`)
	if err := s.FinishTransfer(ctx, rjStored); err != nil {
		t.Fatalf("FinishTransfer(rejected): %v", err)
	}
	if st := claim("after rejection", newTransfer("client-a", "tx-2", "body-3"), time.Now().Add(time.Hour), false); st.Status != linkvault.TransferRejected {
		t.Fatalf("after rejection stored %+v", st)
	}
}

func jsonEqual(a, b json.RawMessage) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return bytes.Equal(xa, ya)
}

// testTransferConcurrentClaims checks that of many simultaneous claims of one new
// record, exactly one wins.
func testTransferConcurrentClaims(t *testing.T, s Store) {
	const n = 16
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		owners int
	)
	for range n {
		wg.Go(func() {
			_, claimed, err := s.ClaimTransfer(t.Context(), newTransfer("client-c", "tx-race", "same body"), time.Now().Add(-time.Hour))
			if err != nil {
				t.Errorf("ClaimTransfer: %v", err)
				return
			}
			if claimed {
				mu.Lock()
				owners++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if owners != 1 {
		t.Fatalf("%d concurrent claims succeeded, want exactly 1", owners)
	}
}

// hashBody is a request hash as internal/audit makes one (SHA-256 of a canonical body).
func hashBody(body string) []byte {
	sum := sha256.Sum256([]byte(body))
	return sum[:]
}

// testTransferPreviews: a preview reads back whole for its client only (another
// client's id is the same not found as one never stored), ids are unique, and the
// retention sweep deletes only previews that expired before its cut-off.
func testTransferPreviews(t *testing.T, s Store) {
	ctx := t.Context()
	now := time.Now().UTC().Truncate(time.Microsecond)
	p := &linkvault.TransferPreviewRecord{
		ID: "8e25acb5-a9e2-4d00-8772-a255f010a2a9", ClientID: "client-a", TokenID: "tok-1",
		ClientTransactionID: "order-1", Request: json.RawMessage(`{"network":"ethereum","amount":"0.5","symbol":"ETH"}`),
		CreatedAt: now, ExpiresAt: now.Add(5 * time.Minute),
	}
	if err := s.CreateTransferPreview(ctx, p); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetTransferPreview(ctx, "client-a", p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != p.ID || got.ClientID != p.ClientID || got.TokenID != p.TokenID || got.ClientTransactionID != p.ClientTransactionID ||
		!got.CreatedAt.Equal(p.CreatedAt) || !got.ExpiresAt.Equal(p.ExpiresAt) || !jsonEqual(got.Request, p.Request) {
		t.Fatalf("read back %+v, want %+v", got, p)
	}
	_, errOther := s.GetTransferPreview(ctx, "client-b", p.ID)
	_, errNone := s.GetTransferPreview(ctx, "client-a", "00000000-0000-4000-8000-000000000000")
	if !linkvault.IsNotFound(errOther) || linkvault.ErrorMessage(errOther) != linkvault.ErrorMessage(errNone) || !linkvault.IsNotFound(errNone) {
		t.Fatalf("another client's preview: %v; a missing one: %v", errOther, errNone)
	}
	dup := *p
	dup.ClientID = "client-b"
	if err := s.CreateTransferPreview(ctx, &dup); !linkvault.IsConflict(err) {
		t.Fatalf("duplicate id: %v, want conflict", err)
	}
	old := *p
	old.ID, old.ExpiresAt = "29b185b1-2305-40fb-a0e2-929d61451568", now.Add(-time.Hour)
	if err := s.CreateTransferPreview(ctx, &old); err != nil {
		t.Fatal(err)
	}
	n, err := s.DeleteTransferPreviews(ctx, now)
	if err != nil || n != 1 {
		t.Fatalf("sweep deleted %d (%v), want 1", n, err)
	}
	if _, err := s.GetTransferPreview(ctx, "client-a", old.ID); !linkvault.IsNotFound(err) {
		t.Fatalf("expired preview after the sweep: %v", err)
	}
	if _, err := s.GetTransferPreview(ctx, "client-a", p.ID); err != nil {
		t.Fatalf("live preview after the sweep: %v", err)
	}
}

// testListCompletedTransfers: only the client's completed transfers are listed, newest
// first, paged, with the total.
func testListCompletedTransfers(t *testing.T, s Store) {
	ctx := t.Context()
	finish := func(client, id string, status linkvault.TransferStatus) {
		t.Helper()
		tr := newTransfer(client, id, "body-"+id)
		stored, claimed, err := s.ClaimTransfer(ctx, tr, time.Now().Add(-time.Hour))
		if err != nil || !claimed {
			t.Fatalf("claim %s: %v %v", id, claimed, err)
		}
		stored.Status = status
		if status.Final() {
			stored.Result = json.RawMessage(`{"id":"` + id + `"}`)
		}
		if err := s.FinishTransfer(ctx, stored); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Millisecond) // distinct creation times
	}
	finish("client-a", "t1", linkvault.TransferCompleted)
	finish("client-a", "t2", linkvault.TransferRejected)
	finish("client-a", "t3", linkvault.TransferCompleted)
	finish("client-a", "t4", linkvault.TransferInterrupted)
	finish("client-a", "t5", linkvault.TransferCompleted)
	finish("client-b", "t6", linkvault.TransferCompleted)
	page, total, err := s.ListCompletedTransfers(ctx, "client-a", 2, 0)
	if err != nil || total != 3 || len(page) != 2 || page[0].ClientTransactionID != "t5" || page[1].ClientTransactionID != "t3" {
		t.Fatalf("first page %v total %d: %+v", err, total, page)
	}
	page, total, err = s.ListCompletedTransfers(ctx, "client-a", 2, 2)
	if err != nil || total != 3 || len(page) != 1 || page[0].ClientTransactionID != "t1" || string(page[0].Result) != `{"id":"t1"}` {
		t.Fatalf("second page %v total %d: %+v", err, total, page)
	}
	if page, total, err := s.ListCompletedTransfers(ctx, "client-c", 10, 0); err != nil || total != 0 || len(page) != 0 {
		t.Fatalf("a client without transfers: %v %d %+v", err, total, page)
	}
}
