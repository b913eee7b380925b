// Package store opens the shared PostgreSQL pool, applies each component's
// embedded migrations, and runs work in transactions.
package store

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sjzamr/smartreg/shared/errs"
)

// Connect opens a pool and waits until the server answers or ctx ends, so a
// function started before its database (common in a cold cluster) still comes up.
func Connect(ctx context.Context, dsn string, maxConns int32) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("parse DATABASE_URL: %w", err)
	}
	if maxConns > 0 {
		cfg.MaxConns = maxConns
	}
	cfg.MaxConnIdleTime = 5 * time.Minute
	// pgx prepares statements; after five runs PostgreSQL may switch to a
	// generic plan, which for "name LIKE $1" cannot use the trigram index
	// and scans 1.3 M rows. Custom plans cost a little planning per query.
	cfg.ConnConfig.RuntimeParams["plan_cache_mode"] = "force_custom_plan"
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open pool: %w", err)
	}
	for attempt := 0; ; attempt++ {
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err = pool.Ping(pctx)
		cancel()
		if err == nil {
			return pool, nil
		}
		if attempt >= 15 || ctx.Err() != nil {
			pool.Close()
			return nil, fmt.Errorf("ping database: %w", err)
		}
		time.Sleep(time.Duration(attempt+1) * 200 * time.Millisecond)
	}
}

// EnsureDatabase creates the database named in dsn when it does not exist,
// connecting to the server's maintenance database to do so. It lets `up`
// work against a fresh server without a separate createdb step.
func EnsureDatabase(ctx context.Context, dsn string) error {
	u, err := url.Parse(dsn)
	if err != nil || !strings.HasPrefix(u.Scheme, "postgres") {
		return nil // keyword/value DSNs are left to the operator
	}
	name := strings.TrimPrefix(u.Path, "/")
	if name == "" || name == "postgres" {
		return nil
	}
	admin := *u
	admin.Path = "/postgres"
	conn, err := pgx.Connect(ctx, admin.String())
	if err != nil {
		return fmt.Errorf("connect to maintenance database: %w", err)
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		return fmt.Errorf("look up database %s: %w", name, err)
	}
	if exists {
		return nil
	}
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42P04" { // created concurrently
		return nil
	}
	if err != nil {
		return fmt.Errorf("create database %s: %w", name, err)
	}
	return nil
}

// Querier is what both a pool and a transaction offer; store code takes it
// so the same query runs inside or outside a caller's transaction.
type Querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	CopyFrom(ctx context.Context, table pgx.Identifier, cols []string, src pgx.CopyFromSource) (int64, error)
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// InTx runs fn in one transaction: committed when fn returns nil, rolled
// back otherwise (and on panic, which is re-raised).
func InTx(ctx context.Context, pool *pgxpool.Pool, fn func(pgx.Tx) error) (err error) {
	tx, err := pool.Begin(ctx)
	if err != nil {
		return Classify(fmt.Errorf("begin: %w", err))
	}
	defer func() {
		if p := recover(); p != nil {
			_ = tx.Rollback(ctx)
			panic(p)
		}
		if err != nil {
			_ = tx.Rollback(ctx)
		}
	}()
	if err = fn(tx); err != nil {
		return err
	}
	if err = tx.Commit(ctx); err != nil {
		return Classify(fmt.Errorf("commit: %w", err))
	}
	return nil
}

// Classify turns driver errors into the platform's codes: no rows is
// not_found, unique violations conflict, an unreachable server unavailable.
// Errors that already carry a code pass through.
func Classify(err error) error {
	if err == nil || errs.As(err) != nil {
		return err
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return errs.Wrap(errs.NotFound, errs.ErrNotFound.Message, err)
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "23505":
			return errs.Wrap(errs.Conflict, errs.ErrConflict.Message, err)
		case "23503", "23514", "22P02", "22007", "22008", "22003":
			return errs.Wrap(errs.Invalid, "数据不符合约束条件", err)
		case "57P01", "57P03", "53300":
			return errs.Wrap(errs.Unavailable, "数据库暂时不可用，请稍后重试", err)
		}
		return err
	}
	if pgconn.SafeToRetry(err) || errors.Is(err, context.DeadlineExceeded) {
		return errs.Wrap(errs.Unavailable, "数据库暂时不可用，请稍后重试", err)
	}
	var connErr *pgconn.ConnectError
	if errors.As(err, &connErr) {
		return errs.Wrap(errs.Unavailable, "数据库暂时不可用，请稍后重试", err)
	}
	return err
}

// IsUniqueViolation reports a unique constraint refusing a row, for
// callers that answer it with a field error naming the duplicate.
func IsUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505"
}
