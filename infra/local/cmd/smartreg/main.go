// Command smartreg runs the one-process SmartReg platform and its operator
// commands:
//
//	smartreg serve                      every function on $PORT (default 8080)
//	smartreg migrate                    create the database and apply migrations
//	smartreg seed [-demo] [-count N] [-codes]
//	                                    load synthetic entities; -demo: 3000 with
//	                                    QR codes, once; -codes: issue codes too
//	smartreg dlq list [-all]            list dead-lettered deliveries
//	smartreg dlq replay <id>|-all       deliver them again
//	smartreg ping <pingsource>          fire a PingSource now
//	smartreg docs-backup                back up the documents now (rows and files)
//	smartreg docs-restore [-from URL] <manifest>
//	                                    restore a documents backup into an empty
//	                                    database and the object store (BLOB_URL)
//	smartreg evidence verify [-key K] [-tiles URL|DIR] BUNDLE
//	                                    check an evidence bundle offline (FP-90)
//	smartreg evidence witness -log URL [-state FILE]
//	                                    follow the evidence log, refuse a rewrite
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
	_ "time/tzdata" // PingSource timezones load in minimal images too

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	documents "github.com/sjzamr/smartreg/functions/documents"
	"github.com/sjzamr/smartreg/functions/identity"
	qrgenerate "github.com/sjzamr/smartreg/functions/qr-generate"
	"github.com/sjzamr/smartreg/functions/registry/seed"
	"github.com/sjzamr/smartreg/infra/local/broker"
	"github.com/sjzamr/smartreg/infra/local/platform"
	"github.com/sjzamr/smartreg/shared/blob"
	"github.com/sjzamr/smartreg/shared/config"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/runtime"
	"github.com/sjzamr/smartreg/shared/store"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:])
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "smartreg:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	var cfg platform.Config
	if err := config.Load(&cfg, nil); err != nil {
		return err
	}
	log := httpx.NewLogger(os.Stderr, cfg.LogLevel)
	cmd := "serve"
	if len(args) > 0 {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serve(ctx, cfg, log)
	case "migrate":
		return withPool(ctx, cfg, func(pool *pgxpool.Pool) error {
			if err := platform.Migrate(ctx, pool); err != nil {
				return err
			}
			fmt.Println("数据库迁移完成 (migrations applied)")
			return nil
		})
	case "seed":
		return seedCmd(ctx, cfg, log, args)
	case "dlq":
		return dlqCmd(ctx, cfg, log, args)
	case "ping":
		return pingCmd(ctx, cfg, log, args)
	case "docs-backup":
		return docsBackupCmd(ctx, cfg, log)
	case "docs-restore":
		return docsRestoreCmd(ctx, cfg, args)
	case "evidence":
		return evidenceCmd(ctx, cfg, args, os.Stdout)
	default:
		return fmt.Errorf("unknown command %q (serve, migrate, seed, dlq, ping, docs-backup, docs-restore, evidence)", cmd)
	}
}

func serve(ctx context.Context, cfg platform.Config, log *slog.Logger) error {
	log.Info("starting SmartReg (one-process platform)", "config", config.Masked(&cfg))
	p, err := platform.Build(ctx, cfg, log, platform.Options{})
	if err != nil {
		return err
	}
	defer p.Close()
	ln, err := net.Listen("tcp", net.JoinHostPort(cfg.ListenHost, strconv.Itoa(cfg.Port)))
	if err != nil {
		return err
	}
	fmt.Print(banner(ctx, p, cfg))
	return p.Run(ctx, ln, cfg.DrainTimeout)
}

// banner is what an operator starting the platform by hand needs first:
// where the console is, a public page to scan, the SMS simulator (it shows
// the verification codes no real phone receives) and the password file.
func banner(ctx context.Context, p *platform.Platform, cfg platform.Config) string {
	url := fmt.Sprintf("http://localhost:%d", cfg.Port)
	var b strings.Builder
	fmt.Fprintf(&b, "\nSmartReg 已启动: %s\n", url)
	fmt.Fprintf(&b, "  管理控制台:   %s/console/  （初始账号密码见 %s）\n", url, passwordFile(cfg))
	qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if s, err := sampleLinks(qctx, p.Pool, cfg.Public.URL(), 1); err == nil && len(s) > 0 {
		fmt.Fprintf(&b, "  扫码公示页:   %s  （%s）\n", s[0].url, s[0].name)
	} else {
		fmt.Fprintf(&b, "  扫码公示页:   尚无二维码（运行 smartreg seed -demo 加载演示数据并赋码）\n")
	}
	fmt.Fprintf(&b, "  市场主体查询: %s/registry/v1/entities?name=石家庄（需登录令牌）\n", url)
	if cfg.Simulators {
		fmt.Fprintf(&b, "  短信模拟器:   %s/sim/sms/sms/messages（验证码等短信在此查看；开发模式 SMARTREG_SIMULATORS=true）\n", url)
	}
	fmt.Fprintf(&b, "  健康检查:     %s/readyz\n", url)
	b.WriteString("  外部系统: 本地模拟器（短信、微信、省平台等均未接入真实系统）\n\n")
	return b.String()
}

func withPool(ctx context.Context, cfg platform.Config, fn func(*pgxpool.Pool) error) error {
	if err := store.EnsureDatabase(ctx, cfg.DatabaseURL); err != nil {
		return err
	}
	pool, err := store.Connect(ctx, cfg.DatabaseURL, 4)
	if err != nil {
		return err
	}
	defer pool.Close()
	return fn(pool)
}

func seedCmd(ctx context.Context, cfg platform.Config, log *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("seed", flag.ContinueOnError)
	demo := fs.Bool("demo", false, "load the demo set (3000 entities) and give them codes, unless already done")
	count := fs.Int("count", 3000, "number of entities to generate")
	seedVal := fs.Int64("seed", 20261126, "random seed (same seed, same data)")
	withCodes := fs.Bool("codes", false, "also issue QR codes to every active entity without one (implied by -demo)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *demo {
		return seedDemo(ctx, cfg, log, *count, *seedVal)
	}
	return withPool(ctx, cfg, func(pool *pgxpool.Pool) error {
		if err := platform.Migrate(ctx, pool); err != nil {
			return err
		}
		if err := loadEntities(ctx, pool, *count, *seedVal); err != nil {
			return err
		}
		if !*withCodes {
			return nil
		}
		p, err := newBroker(ctx, cfg, log)
		if err != nil {
			return err
		}
		defer p.Close()
		return issueCodes(ctx, p)
	})
}

func loadEntities(ctx context.Context, pool *pgxpool.Pool, count int, seedVal int64) error {
	st, err := seed.Load(ctx, pool, seed.Options{Count: count, Seed: seedVal, RecordsPerEntity: 2})
	if err != nil {
		return err
	}
	fmt.Printf("已加载 %d 个市场主体、%d 条记录，用时 %s\n", st.Entities, st.Records, st.Elapsed.Round(time.Millisecond))
	return nil
}

// seedDemo loads the demo entities when there are none and gives them
// codes when no code exists yet; run again, it changes nothing and only
// prints where to look. The seed loads by COPY, bypassing the events that
// would otherwise have reached qr-generate, so the codes are issued here
// with qr-generate's own backfill and bulk issuance. Building the platform
// and starting identity also creates the first administrators (its
// bootstrap) so their password file exists when this prints its path.
func seedDemo(ctx context.Context, cfg platform.Config, log *slog.Logger, count int, seedVal int64) error {
	p, err := newBroker(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer p.Close()
	// identity bootstraps the first administrators when it starts.
	if err := runtime.Start(ctx, p.Identity); err != nil {
		return err
	}
	defer runtime.Stop(context.WithoutCancel(ctx), p.Identity) //nolint:errcheck
	haveEntities, haveCodes, err := demoState(ctx, p.Pool)
	if err != nil {
		return err
	}
	if haveEntities && haveCodes {
		fmt.Println("已有演示数据（市场主体与二维码），跳过加载 (demo data already present)")
	}
	if !haveEntities {
		if err := loadEntities(ctx, p.Pool, count, seedVal); err != nil {
			return err
		}
	}
	if !haveCodes {
		if err := issueCodes(ctx, p); err != nil {
			return err
		}
	}
	// 强检计量器具: an institution, its standards, instrument users and
	// their instruments (some overdue), once.
	if loaded, err := p.Metrology.SeedDemo(ctx); err != nil {
		return fmt.Errorf("metrology demo data: %w", err)
	} else if loaded {
		fmt.Println("已加载强检计量器具演示数据：1 个检定机构、3 套计量标准、6 家使用单位、18 台器具（含超期告警）")
	}
	if msg, err := p.Laws.SeedDemo(ctx); err != nil {
		return fmt.Errorf("laws demo data: %w", err)
	} else if msg != "" {
		fmt.Println(msg)
	}
	if msg, err := p.Activities.SeedDemo(ctx); err != nil {
		return fmt.Errorf("activities demo data: %w", err)
	} else if msg != "" {
		fmt.Println(msg)
	}
	if msg, err := p.Dispatch.SeedDemo(ctx); err != nil {
		return fmt.Errorf("dispatch demo data: %w", err)
	} else if msg != "" {
		fmt.Println(msg)
	}
	if err := seedPolicies(ctx, p, !haveEntities); err != nil {
		return err
	}
	samples, err := sampleLinks(ctx, p.Pool, cfg.Public.URL(), 3)
	if err != nil {
		return err
	}
	if len(samples) > 0 {
		fmt.Println("扫码公示页示例（手机扫码后打开的页面）:")
		for _, s := range samples {
			fmt.Printf("  %s  %s\n", s.url, s.name)
		}
	}
	fmt.Printf("初始账号密码文件（首次登录后须修改密码）: %s\n", passwordFile(cfg))
	return nil
}

// seedPolicies loads policy-match's demo library (once) and derives the
// entities' size and ownership, which the seed's COPY loaded without the
// events that would have done it.
func seedPolicies(ctx context.Context, p *platform.Platform, newEntities bool) error {
	n, err := p.PolicyMatch.SeedDemo(ctx)
	if err != nil {
		return fmt.Errorf("policy-match demo: %w", err)
	}
	if n == 0 && !newEntities {
		return nil
	}
	facts, err := p.PolicyMatch.BackfillFacts(ctx)
	if err != nil {
		return fmt.Errorf("policy-match facts: %w", err)
	}
	fmt.Printf("已加载 %d 条演示政策（正文为示例），为 %d 个市场主体计算企业规模与所有制\n", n, facts)
	return nil
}

// issueCodes backfills qr-generate's entity table from the registry and
// issues a code to every active entity that has none (事业单位 and 民非 wait
// for review). The events it writes go out when the platform next runs.
func issueCodes(ctx context.Context, p *platform.Platform) error {
	n, err := p.QR.SyncFromRegistry(ctx)
	if err != nil {
		return fmt.Errorf("qr-generate backfill: %w", err)
	}
	res, err := p.QR.IssueBulk(ctx, qrgenerate.Selection{}, qrgenerate.BulkOptions{})
	if err != nil {
		return fmt.Errorf("issue codes: %w", err)
	}
	fmt.Printf("已同步 %d 个市场主体到赋码服务，赋码 %d 个（另有 %d 个事业单位、民非待审核），用时 %.1f 秒\n",
		n, res.Issued, res.Pending, res.Seconds)
	return nil
}

// demoState tells whether the registry holds any entity and whether any
// code exists, through the registry's and qr's published read functions
// (docs/architecture.md): the CLI reads no function's tables.
func demoState(ctx context.Context, pool *pgxpool.Pool) (haveEntities, haveCodes bool, err error) {
	err = pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM registry.entity_snapshot()), qr.has_codes()`).
		Scan(&haveEntities, &haveCodes)
	return haveEntities, haveCodes, err
}

type sample struct{ url, name string }

// sampleLinks are public page addresses of a few active codes, the
// entities with the most public records first so the demo page has
// content, read through qr.active_codes and registry.public_page.
func sampleLinks(ctx context.Context, pool *pgxpool.Pool, base string, n int) ([]sample, error) {
	// Only a bounded handful of candidates is ranked: this runs at every
	// start, also on a database loaded with a million entities.
	rows, err := pool.Query(ctx, `SELECT c.token, c.entity_name
		FROM qr.active_codes(200) c
		ORDER BY (SELECT COALESCE(json_array_length(p.records), 0) FROM registry.public_page(c.credit_code) p) DESC NULLS LAST, c.token
		LIMIT $1`, n)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []sample
	for rows.Next() {
		var token, name string
		if err := rows.Scan(&token, &name); err != nil {
			return nil, err
		}
		out = append(out, sample{strings.TrimRight(base, "/") + "/q/" + token, name})
	}
	return out, rows.Err()
}

func passwordFile(cfg platform.Config) string {
	path := filepath.Join(cfg.Identity.DataDir, identity.InitialPasswordFile)
	if abs, err := filepath.Abs(path); err == nil {
		return abs
	}
	return path
}

func newBroker(ctx context.Context, cfg platform.Config, log *slog.Logger) (*platform.Platform, error) {
	return platform.Build(ctx, cfg, log, platform.Options{DisableRelay: true})
}

func dlqCmd(ctx context.Context, cfg platform.Config, log *slog.Logger, args []string) error {
	if len(args) == 0 {
		return errors.New("usage: smartreg dlq list [-all] | dlq replay <id>|-all")
	}
	p, err := newBroker(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer p.Close()
	switch args[0] {
	case "list":
		all := len(args) > 1 && args[1] == "-all"
		list, err := broker.DeadLetters(ctx, p.Pool, !all, 1000)
		if err != nil {
			return err
		}
		if len(list) == 0 {
			fmt.Println("没有待处理的死信 (no dead letters)")
			return nil
		}
		enc := json.NewEncoder(os.Stdout)
		for _, d := range list {
			_ = enc.Encode(d)
		}
		return nil
	case "replay":
		if len(args) < 2 {
			return errors.New("usage: smartreg dlq replay <id>|-all")
		}
		if args[1] == "-all" {
			n, err := p.Broker.ReplayAll(ctx)
			fmt.Printf("已重新投递 %d 条死信\n", n)
			return err
		}
		id, err := strconv.ParseInt(args[1], 10, 64)
		if err != nil {
			return fmt.Errorf("dead letter id %q is not a number", args[1])
		}
		if err := p.Broker.Replay(ctx, id); err != nil {
			return err
		}
		fmt.Printf("死信 %d 已重新投递（由运行中的平台处理）\n", id)
		return nil
	}
	return fmt.Errorf("unknown dlq command %q", args[0])
}

func pingCmd(ctx context.Context, cfg platform.Config, log *slog.Logger, args []string) error {
	if len(args) != 1 {
		return errors.New("usage: smartreg ping <pingsource>")
	}
	p, err := newBroker(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer p.Close()
	return p.Broker.FireNow(ctx, args[0], "ping-"+args[0]+"-manual-"+uuid.NewString())
}

// docsBackupCmd runs the documents' backup now, as the PingSources do on
// their schedules (FP-41).
func docsBackupCmd(ctx context.Context, cfg platform.Config, log *slog.Logger) error {
	p, err := newBroker(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer p.Close()
	run, err := p.Documents.Backup(ctx, "manual", "")
	if err != nil {
		return err
	}
	fmt.Printf("文书备份完成：%d 行、%d 个文件（%d 字节）\n  清单: %s\n  清单 SHA-256: %s\n", run.Rows, run.Objects, run.Bytes, run.Manifest, run.ManifestSHA256)
	return nil
}

// docsRestoreCmd restores a documents backup (FP-41): the database named by
// DATABASE_URL is migrated, its docs tables must be empty, and the files
// go to BLOB_URL; -from names the store holding the backup when it is not
// BLOB_URL's.
func docsRestoreCmd(ctx context.Context, cfg platform.Config, args []string) error {
	fs := flag.NewFlagSet("docs-restore", flag.ContinueOnError)
	from := fs.String("from", "", "object store holding the backup (default: BLOB_URL)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("usage: smartreg docs-restore [-from URL] <manifest key, e.g. backups/docs/daily/20260302T024000Z-7/manifest.json>")
	}
	dst, err := blob.Open(ctx, cfg.BlobURL)
	if err != nil {
		return err
	}
	src := dst
	if *from != "" {
		if src, err = blob.Open(ctx, *from); err != nil {
			return err
		}
	}
	return withPool(ctx, cfg, func(pool *pgxpool.Pool) error {
		if err := platform.Migrate(ctx, pool); err != nil {
			return err
		}
		res, err := documents.Restore(ctx, pool, src, dst, fs.Arg(0))
		if err != nil {
			return err
		}
		total := 0
		for _, n := range res.Rows {
			total += n
		}
		fmt.Printf("文书备份已恢复：%d 行、%d 个文件（清单 SHA-256 %s）\n", total, res.Objects, res.ManifestSHA256)
		for _, t := range documents.BackupTables() {
			fmt.Printf("  %-24s %d\n", t, res.Rows[t])
		}
		return nil
	})
}
