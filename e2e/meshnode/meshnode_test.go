// Package meshnode drives Mesh's real REST client, @meshconnect/node-api from npm
// (flow.mjs), against the real linkvault binary on SQLite and PostgreSQL, and holds every
// answer the client receives to Mesh's schemas (internal/meshspec). .ci/run installs the
// package (npm ci in this directory); without node or the package the test skips with a
// clear message.
package meshnode_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/linkvault/linkvault/internal/e2etest"
	"github.com/linkvault/linkvault/internal/exchangesim"
	"github.com/linkvault/linkvault/internal/link/linktest"
	"github.com/linkvault/linkvault/internal/meshspec"
	"github.com/linkvault/linkvault/internal/testdb"
	lvclient "github.com/linkvault/linkvault/sdk/go"
)

type call struct {
	Op     string          `json:"op"`
	Method string          `json:"method"`
	Path   string          `json:"path"`
	Status int             `json:"status"`
	Body   json.RawMessage `json:"body"`
}

func TestMeshNodeClient(t *testing.T) {
	e2etest.SkipShort(t, "builds and runs the linkvault binary")
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed; .ci/run installs it")
	}
	if _, err := os.Stat(filepath.Join("node_modules", "@meshconnect", "node-api", "package.json")); err != nil {
		t.Skip("@meshconnect/node-api is not installed: run npm ci in e2e/meshnode (.ci/run does)")
	}
	t.Run("sqlite", func(t *testing.T) { run(t, node, "") })
	t.Run("postgres", func(t *testing.T) {
		run(t, node, testdb.PostgresDSN(t))
	})
}

func run(t *testing.T, node, dsn string) {
	env := e2etest.Start(t, e2etest.Options{PostgresDSN: dsn})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := lvclient.New(env.URL(), env.ClientA.ID, env.ClientA.WriteSecret)
	if err != nil {
		t.Fatal(err)
	}
	lt, err := c.CreateLinkToken(ctx, lvclient.LinkTokenRequest{UserID: "node-api-user"})
	if err != nil {
		t.Fatal(err)
	}
	payload, err := linktest.Connect(ctx, nil, lt.LinkToken, "coinbase", "node-api-user", exchangesim.DefaultPassword)
	if err != nil {
		t.Fatal(err)
	}
	tok := payload.AccountTokens[0].TokenID

	cmd := exec.CommandContext(ctx, node, "flow.mjs")
	cmd.Env = append(os.Environ(), "LV_URL="+env.URL(), "LV_CLIENT_ID="+env.ClientA.ID,
		"LV_CLIENT_SECRET="+env.ClientA.WriteSecret, "LV_TOKEN_ID="+tok, "LV_BROKER_TYPE=coinbase")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node flow.mjs: %v\n%s", err, stderr.Bytes())
	}
	spec, err := meshspec.Load()
	if err != nil {
		t.Fatal(err)
	}
	calls := map[string]call{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 8<<20)
	for sc.Scan() {
		var c call
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			t.Fatalf("flow output %q: %v", sc.Bytes(), err)
		}
		calls[c.Op] = c
		if schema, err := spec.ValidateResponse(c.Method, c.Path, c.Status, c.Body); err != nil {
			t.Errorf("%s: %d answer does not match Mesh's %s schema: %v\n%s", c.Op, c.Status, schema, err, c.Body)
		}
	}
	want := map[string]int{
		"integrations": 200, "linktoken": 200, "status": 200, "networks": 200, "tokens": 200, "transferIntegrations": 200,
		"holdings": 200, "holdingsValue": 200, "balance": 200, "configure": 200, "preview": 200, "execute": 200,
		"executeAgain": 200, "transferStatus": 200, "transferHistory": 200, "transferHistoryByUser": 400, "depositAddress": 200, "transfersList": 200,
		"tokenRefresh": 400, "quote": 404, "transactionsList": 404,
	}
	for op, code := range want {
		c, ok := calls[op]
		if !ok {
			t.Errorf("%s: no answer", op)
			continue
		}
		if c.Status != code {
			t.Errorf("%s: HTTP %d, want %d: %s", op, c.Status, code, c.Body)
		}
	}
	var first, again struct {
		Content struct {
			Status string `json:"status"`
			Result struct {
				TransferID string `json:"transferId"`
			} `json:"executeTransferResult"`
		} `json:"content"`
	}
	_ = json.Unmarshal(calls["execute"].Body, &first)
	_ = json.Unmarshal(calls["executeAgain"].Body, &again)
	if first.Content.Status != "succeeded" || first.Content.Result.TransferID == "" || again.Content.Result.TransferID != first.Content.Result.TransferID {
		t.Errorf("execute twice: %s then %s, want one transfer", calls["execute"].Body, calls["executeAgain"].Body)
	}
	var hist struct {
		Content struct {
			Items []struct {
				ID string `json:"id"`
			} `json:"items"`
			Total int `json:"total"`
		} `json:"content"`
	}
	_ = json.Unmarshal(calls["transferHistory"].Body, &hist)
	if hist.Content.Total != 1 || len(hist.Content.Items) != 1 || hist.Content.Items[0].ID != first.Content.Result.TransferID {
		t.Errorf("managed transfers list: %s", calls["transferHistory"].Body)
	}
	// linkvault applies no UserId filter: the real client's UserId is refused, naming
	// it, rather than answered with every user's transfers.
	if body := calls["transferHistoryByUser"].Body; !bytes.Contains(body, []byte(`"message":"UserId is not supported`)) {
		t.Errorf("managed transfers list by UserId: %s", body)
	}
	var ne struct {
		ErrorType string `json:"errorType"`
	}
	_ = json.Unmarshal(calls["quote"].Body, &ne)
	if ne.ErrorType != "notImplemented" {
		t.Errorf("quote: %s, want notImplemented", calls["quote"].Body)
	}
}
