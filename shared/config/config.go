// Package config fills typed configuration structs from environment
// variables. Each field names its variable and default in struct tags, so
// the README table can be checked against the code (see Describe).
//
//	type Config struct {
//	    DatabaseURL string        `env:"DATABASE_URL" default:"postgres://…" secret:"true" help:"PostgreSQL"`
//	    Drain       time.Duration `env:"DRAIN_TIMEOUT" default:"20s"`
//	}
package config

import (
	"fmt"
	"maps"
	"net/url"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// Field describes one configuration variable.
type Field struct {
	Env, Default, Help string
	Secret             bool
}

// Load fills the struct pointed to by dst from getenv (os.Getenv when nil).
func Load(dst any, getenv func(string) string) error {
	if getenv == nil {
		getenv = os.Getenv
	}
	return load(reflect.ValueOf(dst).Elem(), getenv)
}

// nested reports whether a field without an env tag is a group of settings
// (a function's own Config embedded in the platform's) to walk into.
func nested(f reflect.StructField) bool {
	return f.Tag.Get("env") == "" && f.Type.Kind() == reflect.Struct && f.IsExported()
}

func load(v reflect.Value, getenv func(string) string) error {
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		if nested(f) {
			if err := load(v.Field(i), getenv); err != nil {
				return err
			}
			continue
		}
		name := f.Tag.Get("env")
		if name == "" {
			continue
		}
		raw := getenv(name)
		if raw == "" {
			raw = f.Tag.Get("default")
		}
		if err := set(v.Field(i), raw); err != nil {
			return fmt.Errorf("config %s=%q: %w", name, raw, err)
		}
	}
	return nil
}

func set(fv reflect.Value, raw string) error {
	switch fv.Interface().(type) {
	case time.Duration:
		d, err := time.ParseDuration(raw)
		if err != nil {
			return err
		}
		fv.SetInt(int64(d))
		return nil
	}
	switch fv.Kind() {
	case reflect.String:
		fv.SetString(raw)
	case reflect.Int, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil {
			return err
		}
		fv.SetInt(n)
	case reflect.Bool:
		b, err := strconv.ParseBool(raw)
		if err != nil {
			return err
		}
		fv.SetBool(b)
	default:
		return fmt.Errorf("unsupported kind %s", fv.Kind())
	}
	return nil
}

// Describe lists the fields of a config struct type, for docs and tests.
// A variable read by several groups (PUBLIC_BASE_URL in every function
// that builds links, in the platform that embeds them all) is listed once,
// where it comes first.
func Describe(cfg any) []Field {
	var out []Field
	seen := map[string]bool{}
	for _, f := range describe(cfg) {
		if !seen[f.Env] {
			seen[f.Env] = true
			out = append(out, f)
		}
	}
	return out
}

func describe(cfg any) []Field {
	t := reflect.TypeOf(cfg)
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var out []Field
	for i := range t.NumField() {
		f := t.Field(i)
		if nested(f) {
			out = append(out, describe(reflect.Zero(f.Type).Interface())...)
			continue
		}
		if name := f.Tag.Get("env"); name != "" {
			out = append(out, Field{Env: name, Default: f.Tag.Get("default"), Help: f.Tag.Get("help"), Secret: f.Tag.Get("secret") == "true"})
		}
	}
	return out
}

// Masked renders cfg for logs with secret fields hidden; URL passwords are
// masked even in fields not marked secret.
func Masked(cfg any) map[string]string {
	v := reflect.Indirect(reflect.ValueOf(cfg))
	out := map[string]string{}
	for i := range v.NumField() {
		if nested(v.Type().Field(i)) {
			maps.Copy(out, Masked(v.Field(i).Interface()))
			continue
		}
		tag := v.Type().Field(i).Tag
		name := tag.Get("env")
		if name == "" {
			continue
		}
		val := fmt.Sprint(v.Field(i).Interface())
		switch secret := tag.Get("secret") == "true"; {
		case secret && strings.Contains(val, "://"):
			val = maskURL(val)
		case secret && val != "":
			val = "******"
		}
		out[name] = val
	}
	return out
}

func maskURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// Public is the platform's external address, read by every function that
// builds links people follow (QR contents, OIDC redirects, notices).
type Public struct {
	BaseURL string `env:"PUBLIC_BASE_URL" default:"http://localhost:8080" help:"平台对外访问地址（二维码内容、登录回调等）"`
}

// URL is the base URL without a trailing slash.
func (p Public) URL() string { return strings.TrimRight(p.BaseURL, "/") }

// Defaults is a T with every field at its documented default, as Load
// fills it from an empty environment: what tests and tools pass to a
// function's New when no environment applies.
func Defaults[T any]() T {
	var c T
	if err := Load(&c, func(string) string { return "" }); err != nil {
		// A default that does not parse is a programming error that every
		// test of the function would show at once.
		panic(fmt.Sprintf("config: defaults of %T do not load: %v", c, err))
	}
	return c
}
