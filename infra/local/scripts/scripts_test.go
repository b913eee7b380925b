package scripts

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/shared/store/storetest"
)

// A new user's DATABASE_URL may name a database that does not exist yet:
// ensure-services.sh creates it before it checks PostGIS there, as the
// README promises (issue 24).
func TestEnsureServicesCreatesTheDatabaseOfANewURL(t *testing.T) {
	ctx := context.Background()
	name := fmt.Sprintf("smartreg_newurl_%d", rand.IntN(1_000_000))
	admin, err := pgx.Connect(ctx, storetest.AdminURL())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	t.Cleanup(func() { _, _ = admin.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)") })
	url := storetest.URLFor(name)
	cmd := exec.Command("bash", "ensure-services.sh", "-v")
	cmd.Env = append(os.Environ(), "DATABASE_URL="+url)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("ensure-services.sh with a new database: %v\n%s", err, out)
	}
	var exists bool
	if err := admin.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil || !exists {
		t.Fatalf("database %s not created (%v):\n%s", name, err, out)
	}
	if !strings.Contains(string(out), "PostGIS") || !strings.Contains(string(out), name) {
		t.Errorf("PostGIS was not checked in the new database:\n%s", out)
	}
	// A second run finds it and leaves it alone.
	cmd = exec.Command("bash", "ensure-services.sh")
	cmd.Env = append(os.Environ(), "DATABASE_URL="+url)
	if out, err := cmd.CombinedOutput(); err != nil || strings.Contains(string(out), "创建数据库") {
		t.Fatalf("second run: %v\n%s", err, out)
	}
}
