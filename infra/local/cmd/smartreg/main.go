// Command smartreg runs the one-process SmartReg platform and its operator
// commands:
//
//	smartreg serve                      every function on $PORT (default 8080)
//	smartreg migrate                    create the database and apply migrations
//	smartreg seed [-demo] [-count N]    load synthetic entities (demo: 3000, once)
//	smartreg dlq list [-all]            list dead-lettered deliveries
//	smartreg dlq replay <id>|-all       deliver them again
//	smartreg ping <pingsource>          fire a PingSource now
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
	"strconv"
	"syscall"
	"time"
	_ "time/tzdata" // PingSource timezones load in minimal images too

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sjzamr/smartreg/functions/registry/seed"
	"github.com/sjzamr/smartreg/infra/local/broker"
	"github.com/sjzamr/smartreg/infra/local/platform"
	"github.com/sjzamr/smartreg/shared/config"
	"github.com/sjzamr/smartreg/shared/httpx"
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
		return seedCmd(ctx, cfg, args)
	case "dlq":
		return dlqCmd(ctx, cfg, log, args)
	case "ping":
		return pingCmd(ctx, cfg, log, args)
	default:
		return fmt.Errorf("unknown command %q (serve, migrate, seed, dlq, ping)", cmd)
	}
}

func serve(ctx context.Context, cfg platform.Config, log *slog.Logger) error {
	log.Info("starting SmartReg (one-process platform)", "config", config.Masked(&cfg))
	p, err := platform.Build(ctx, cfg, log, platform.Options{})
	if err != nil {
		return err
	}
	defer p.Close()
	ln, err := net.Listen("tcp", fmt.Sprintf(":%d", cfg.Port))
	if err != nil {
		return err
	}
	url := fmt.Sprintf("http://localhost:%d", cfg.Port)
	fmt.Printf("\nSmartReg 已启动: %s\n  市场主体查询: %s/registry/v1/entities?name=石家庄\n  健康检查:     %s/registry/healthz\n  外部系统: 本地模拟器（短信、微信、省平台等均未接入真实系统）\n\n", url, url, url)
	return p.Run(ctx, ln, cfg.DrainTimeout)
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

func seedCmd(ctx context.Context, cfg platform.Config, args []string) error {
	fs := flag.NewFlagSet("seed", flag.ContinueOnError)
	demo := fs.Bool("demo", false, "load the demo set (3000 entities) unless entities already exist")
	count := fs.Int("count", 3000, "number of entities to generate")
	seedVal := fs.Int64("seed", 20261126, "random seed (same seed, same data)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	return withPool(ctx, cfg, func(pool *pgxpool.Pool) error {
		if err := platform.Migrate(ctx, pool); err != nil {
			return err
		}
		if *demo {
			var n int
			if err := pool.QueryRow(ctx, `SELECT count(*) FROM (SELECT 1 FROM registry.entities LIMIT 1) t`).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				fmt.Println("已有市场主体数据，跳过演示数据加载 (demo data already present)")
				return nil
			}
		}
		st, err := seed.Load(ctx, pool, seed.Options{Count: *count, Seed: *seedVal, RecordsPerEntity: 2})
		if err != nil {
			return err
		}
		fmt.Printf("已加载 %d 个市场主体、%d 条记录，用时 %s\n", st.Entities, st.Records, st.Elapsed.Round(time.Millisecond))
		return nil
	})
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
