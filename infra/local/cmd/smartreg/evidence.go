package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	iofs "io/fs"
	"os"
	"strings"

	"github.com/sjzamr/smartreg/functions/evidence-capture/seal"
	"github.com/sjzamr/smartreg/infra/local/platform"
)

// evidenceCmd is `smartreg evidence verify|witness` (FP-90). Both run on
// package seal alone: verify needs nothing but the bundle, its receipt and
// the log's public key, so anyone can check evidence without us; witness
// follows a log over HTTP and refuses one that rewrote its history.
func evidenceCmd(ctx context.Context, cfg platform.Config, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New("usage: smartreg evidence verify [-key KEY] [-tiles URL|DIR] BUNDLE | smartreg evidence witness -log URL -state FILE [-key KEY]")
	}
	// The public key defaults to the one of the configured signing key, so
	// an operator of this platform needs no flag; anyone else passes the
	// key the log publishes (GET /evidence/v1/log/key).
	defKey, _ := seal.PublicKey(cfg.EvidenceCapture.LogKey)
	switch args[0] {
	case "verify":
		fs := flag.NewFlagSet("evidence verify", flag.ContinueOnError)
		key := fs.String("key", defKey, "存证日志公钥（name+hash+base64），或 @文件")
		tiles := fs.String("tiles", "", "可选：日志瓦片的地址（http(s)://…/evidence/v1/log/）或镜像目录，一并校验瓦片")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if fs.NArg() != 1 {
			return errors.New("usage: smartreg evidence verify [-key KEY] [-tiles URL|DIR] BUNDLE（目录或 zip）")
		}
		vkey, err := readKey(*key)
		if err != nil {
			return err
		}
		return verifyBundle(ctx, fs.Arg(0), vkey, *tiles, stdout)
	case "witness":
		fs := flag.NewFlagSet("evidence witness", flag.ContinueOnError)
		key := fs.String("key", defKey, "存证日志公钥（name+hash+base64），或 @文件")
		logURL := fs.String("log", "", "日志地址，如 http://localhost:8080/evidence/v1/log/")
		state := fs.String("state", "evidence-witness.checkpoint", "见证者保存最近检查点的文件")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if *logURL == "" {
			return errors.New("usage: smartreg evidence witness -log URL [-state FILE] [-key KEY]")
		}
		vkey, err := readKey(*key)
		if err != nil {
			return err
		}
		src := seal.HTTPTiles{Base: *logURL}
		signed, err := src.Checkpoint(ctx)
		if err != nil {
			return fmt.Errorf("取日志检查点: %w", err)
		}
		w := seal.Witness{StatePath: *state, VKey: vkey}
		cp, err := w.Observe(signed, func(a, b uint64) ([][]byte, error) { return seal.ConsistencyProof(ctx, src, a, b) })
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "检查点一致，已记录: %s 共 %d 条\n", cp.Origin, cp.Size)
		return nil
	default:
		return fmt.Errorf("unknown evidence command %q (verify, witness)", args[0])
	}
}

func readKey(k string) (string, error) {
	if name, ok := strings.CutPrefix(k, "@"); ok {
		b, err := os.ReadFile(name)
		if err != nil {
			return "", err
		}
		k = string(b)
	}
	if k = strings.TrimSpace(k); k == "" {
		return "", errors.New("需要存证日志公钥（-key）")
	}
	return k, nil
}

func verifyBundle(ctx context.Context, path, vkey, tiles string, stdout io.Writer) error {
	fsys, closeFn, err := seal.OpenBundle(path)
	if err != nil {
		return err
	}
	defer closeFn()
	res, err := seal.VerifyBundle(fsys, vkey)
	if err != nil {
		return err
	}
	if tiles != "" {
		var tr seal.TileReader = seal.DirTiles(tiles)
		if strings.HasPrefix(tiles, "http://") || strings.HasPrefix(tiles, "https://") {
			tr = seal.HTTPTiles{Base: tiles}
		}
		rb, _ := iofs.ReadFile(fsys, seal.ReceiptName)
		r, err := seal.ParseReceipt(rb)
		if err != nil {
			return err
		}
		if err := seal.VerifyTiles(ctx, tr, res.Checkpoint, &r); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "日志瓦片与检查点一致")
	}
	fmt.Fprint(stdout, res.Summary())
	return nil
}
