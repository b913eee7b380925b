package datahub

import (
	"bytes"
	"context"
	"fmt"
	"testing"
)

// FP-96: a push target's address is sealed at rest (AES-GCM envelope,
// shared/seal): no stored byte of the job holds the password, lists show
// it masked, and a run still reaches the target. A job saved in clear
// before migration 0003 is sealed at start.
func TestPushTargetPasswordSealedAtRest(t *testing.T) {
	h := newHarness(t)
	b := districtUser(h)
	const pw = "Secr3t-Pa55word-7731"
	cc := h.pool.Config().ConnConfig
	dsn := fmt.Sprintf("postgres://%s:%s@%s:%d/%s?sslmode=disable", cc.User, pw, cc.Host, cc.Port, cc.Database)
	c := h.generate(t, b, InterfaceInput{Name: "密钥", Dataset: "entities", Fields: pushFields})
	job := h.createPush(t, b, c.ID, PushInput{Name: "加密", TargetKind: "postgres", TargetDSN: dsn, TargetTable: "sealed_target"})
	if bytes.Contains([]byte(job.TargetDSN), []byte(pw)) {
		t.Fatalf("the answer shows the password: %s", job.TargetDSN)
	}
	row := func(id int64) []byte {
		var whole []byte
		if err := h.pool.QueryRow(context.Background(), `SELECT convert_to(row_to_json(j)::text, 'UTF8') || coalesce(j.target_secret, '')
			FROM datahub.push_jobs j WHERE id = $1`, id).Scan(&whole); err != nil {
			t.Fatal(err)
		}
		return whole
	}
	if r := row(job.ID); bytes.Contains(r, []byte(pw)) || !bytes.Contains(r, []byte("******")) {
		t.Fatalf("the stored job holds the password: %s", r)
	}
	if run, err := h.f.RunPush(context.Background(), job.ID); err != nil || run.Status != "done" || run.RowsWritten != 20 {
		t.Fatalf("a run with the sealed address: %+v %v", run, err)
	}

	// A row from before sealing: the address in clear, no secret.
	var legacy int64
	if err := h.pool.QueryRow(context.Background(), `INSERT INTO datahub.push_jobs (interface_id, name, target_kind, target_dsn, target_table,
		every_minutes, next_run_at, owner_id, created_at) VALUES ($1, '旧任务', 'postgres', $2, 'legacy_target', 60, now(), 'district-user', now())
		RETURNING id`, c.ID, dsn).Scan(&legacy); err != nil {
		t.Fatal(err)
	}
	if n, err := h.f.sealLegacyTargets(context.Background()); err != nil || n != 1 {
		t.Fatalf("sealed %d legacy jobs: %v", n, err)
	}
	if r := row(legacy); bytes.Contains(r, []byte(pw)) {
		t.Fatalf("the legacy job still holds the password: %s", r)
	}
	if run, err := h.f.RunPush(context.Background(), legacy); err != nil || run.Status != "done" {
		t.Fatalf("the legacy job after sealing: %+v %v", run, err)
	}
	if n, _ := h.f.sealLegacyTargets(context.Background()); n != 0 {
		t.Errorf("sealing again touched %d jobs", n)
	}
}
