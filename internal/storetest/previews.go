package storetest

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/linkvault/linkvault"
)

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
