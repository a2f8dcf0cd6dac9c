package bench

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// MachineFacts are recorded with every result.
type MachineFacts struct {
	Date       string `json:"date"`
	CPUs       int    `json:"cpus"`
	CPUModel   string `json:"cpuModel"`
	MemTotal   string `json:"memTotal"`
	Kernel     string `json:"kernel"`
	GoVersion  string `json:"goVersion"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	Commit     string `json:"commit"`
	SQLite     string `json:"sqlite"`
	Postgres   string `json:"postgres"`
	LoadAvg    string `json:"loadavg"`
}

// Machine collects the facts of this machine.
func Machine(ctx context.Context, pgDSN string) MachineFacts {
	m := MachineFacts{
		Date:       time.Now().UTC().Format(time.RFC3339),
		CPUs:       runtime.NumCPU(),
		GoVersion:  runtime.Version(),
		GOMAXPROCS: runtime.GOMAXPROCS(0),
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if f := strings.Fields(line); len(f) >= 2 && f[0] == "MemTotal:" {
				kb, _ := strconv.ParseInt(f[1], 10, 64)
				m.MemTotal = fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		m.LoadAvg = strings.Join(strings.Fields(string(b))[:3], " ")
	}
	if c := os.Getenv("LVBENCH_COMMIT"); c != "" {
		// Set when the binaries were built from an exported tree (no .git).
		m.Commit = c
	} else if out, err := exec.CommandContext(ctx, "git", "rev-parse", "--short", "HEAD").Output(); err == nil {
		m.Commit = strings.TrimSpace(string(out))
		if st, err := exec.CommandContext(ctx, "git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(st) > 0 {
			m.Commit += " (+ uncommitted changes)"
		}
	}
	if db, err := sql.Open("sqlite", ":memory:"); err == nil {
		_ = db.QueryRowContext(ctx, `SELECT sqlite_version()`).Scan(&m.SQLite)
		m.SQLite = "SQLite " + m.SQLite + " (modernc.org/sqlite, pure Go)"
		db.Close()
	}
	if pgDSN != "" {
		cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		if c, err := pgx.Connect(cctx, pgDSN); err == nil {
			var v string
			if c.QueryRow(cctx, `SHOW server_version`).Scan(&v) == nil {
				m.Postgres = "PostgreSQL " + v + " on " + c.Config().Host
			}
			c.Close(cctx)
		}
		cancel()
	}
	return m
}

// Markdown renders the facts as a small table.
func (m MachineFacts) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "\n| machine | |\n|---|---|\n")
	fmt.Fprintf(&b, "| date (UTC) | %s |\n", m.Date)
	fmt.Fprintf(&b, "| CPU | %d × %s (GOMAXPROCS %d) |\n", m.CPUs, m.CPUModel, m.GOMAXPROCS)
	fmt.Fprintf(&b, "| memory | %s |\n", m.MemTotal)
	fmt.Fprintf(&b, "| kernel | Linux %s |\n", m.Kernel)
	fmt.Fprintf(&b, "| Go | %s |\n", m.GoVersion)
	fmt.Fprintf(&b, "| commit | %s |\n", m.Commit)
	fmt.Fprintf(&b, "| databases | %s; %s |\n", m.SQLite, orNone(m.Postgres))
	fmt.Fprintf(&b, "| load average at start | %s |\n\n", m.LoadAvg)
	return b.String()
}

func orNone(s string) string {
	if s == "" {
		return "PostgreSQL not reachable"
	}
	return s
}
