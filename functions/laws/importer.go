package laws

import (
	"context"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/shared/auditlog"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/store"
)

// Actor is who makes a change, for the operation log.
type Actor struct {
	UserID, Username, IP string
}

// maxReported bounds the per-document errors an answer lists.
const maxReported = 200

// Import reads a corpus (the shipped one, or a ZIP in its layout) and
// brings the library up to date in one transaction (FP-65): new documents
// are added, changed ones rewritten, unchanged ones and those edited in
// the console left alone. A document with an error (a broken file, a date
// in an unknown format) is reported by path and nothing is written.
func (f *Function) Import(ctx context.Context, who Actor, fsys fs.FS, source string) (ImportRun, error) {
	run := ImportRun{StartedAt: f.now(), UserID: who.UserID, Source: source, Skipped: []Skip{}}
	docs, skips, bad, err := ReadCorpus(fsys)
	if err != nil {
		return run, errs.Wrap(errs.Invalid, "法规库无法读取："+err.Error(), err)
	}
	if len(bad) > 0 {
		fe := make([]errs.FieldError, 0, min(len(bad), maxReported))
		for _, b := range bad[:min(len(bad), maxReported)] {
			msg := b.Message
			if b.Title != "" {
				msg = "《" + b.Title + "》：" + msg
			}
			fe = append(fe, errs.FieldError{Field: b.Path, Message: msg})
		}
		return run, &errs.Error{Code: errs.Invalid, Fields: fe,
			Message: fmt.Sprintf("%d 个文件有错误，本次未导入任何文件。第一个：%s：%s", len(bad), bad[0].Path, bad[0].Message)}
	}
	run.Skipped = append(run.Skipped, skips...)
	err = store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		// One import at a time: two would both insert the same new keys.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('laws.import'))`); err != nil {
			return err
		}
		have, err := corpusDocuments(ctx, tx)
		if err != nil {
			return err
		}
		touched := map[string]bool{}
		now := f.now()
		for _, d := range docs {
			e, ok := have[d.Key]
			switch {
			case !ok:
				if _, err := insertDocument(ctx, tx, d, "corpus", now); err != nil {
					return fmt.Errorf("%s: %w", d.Path, err)
				}
				run.Created++
				touched[d.Family] = true
			case e.Edited:
				run.Kept++
			case e.Hash == d.Hash():
				run.Unchanged++
			default:
				if err := updateDocument(ctx, tx, e.ID, d, false, now); err != nil {
					return fmt.Errorf("%s: %w", d.Path, err)
				}
				run.Updated++
				touched[d.Family], touched[e.Family] = true, true
			}
		}
		if len(touched) > 0 {
			fams := make([]string, 0, len(touched))
			for fam := range touched {
				fams = append(fams, fam)
			}
			slices.Sort(fams)
			if _, err := refreshFamilies(ctx, tx, fams, now); err != nil {
				return err
			}
		}
		run.FinishedAt = f.now()
		if err := insertImport(ctx, tx, &run); err != nil {
			return err
		}
		return auditlog.Record(ctx, tx, Source, auditlog.Operation{UserID: who.UserID, Username: who.Username, IP: who.IP,
			Action: "laws.import", ObjectType: "law_import", ObjectID: strconv.FormatInt(run.ID, 10),
			After: map[string]any{"source": source, "created": run.Created, "updated": run.Updated, "unchanged": run.Unchanged, "kept": run.Kept}})
	})
	if err != nil {
		return run, err
	}
	if err := f.index.catchUp(ctx); err != nil {
		f.log.Warn("laws: index catch-up after import", "err", err)
	}
	return run, nil
}

// DocumentInput is a document entered or edited in the console (FP-66):
// a Hebei or Shijiazhuang local regulation the corpus lacks, or a
// correction. Text is written like the corpus: 第一章 headings and 第一条
// articles, one paragraph per line.
type DocumentInput struct {
	Title       string `json:"title"`
	ShortTitle  string `json:"short_title"`
	Number      string `json:"number"`
	Nature      string `json:"nature"`
	Area        string `json:"area"`
	Body        string `json:"body"`
	Region      string `json:"region"`
	PublishedOn string `json:"published_on"`
	EffectiveOn string `json:"effective_on"`
	Repealed    bool   `json:"repealed"`
	Family      string `json:"family"` // the law this is a version of; default its short title
	Text        string `json:"text"`
	Version     int    `json:"version"` // the version read, for an edit
}

// Regions a local document may belong to; ” is national.
var Regions = []string{"", "河北省", "石家庄市"}

// doc checks the input and turns it into a Doc.
func (in DocumentInput) doc() (Doc, error) {
	var fe []errs.FieldError
	add := func(field, msg string) { fe = append(fe, errs.FieldError{Field: field, Message: msg}) }
	title := strings.TrimSpace(in.Title)
	switch n := utf8.RuneCountInString(title); {
	case n == 0:
		add("title", "请填写标题")
	case n > 200:
		add("title", "标题不能超过 200 字")
	}
	if !slices.Contains(Natures, in.Nature) {
		add("nature", "效力级别应为 "+strings.Join(Natures, "、")+" 之一")
	}
	if !slices.Contains(Regions, in.Region) {
		add("region", "地域应为空（全国）、河北省或石家庄市")
	}
	body := strings.TrimSpace(in.Body)
	if body == "" {
		add("body", "请填写制定机关")
	} else if utf8.RuneCountInString(body) > 100 {
		add("body", "制定机关不能超过 100 字")
	}
	for field, v := range map[string]string{"number": in.Number, "short_title": in.ShortTitle, "family": in.Family, "area": in.Area} {
		if utf8.RuneCountInString(v) > 200 {
			add(field, "不能超过 200 字")
		}
	}
	pub, err := ParseDate(in.PublishedOn)
	if err != nil {
		add("published_on", "公布日期"+err.Error())
	} else if pub == nil {
		add("published_on", "请填写公布日期")
	}
	eff, err := ParseDate(in.EffectiveOn)
	if err != nil {
		add("effective_on", "施行日期"+err.Error())
	}
	var parsed Parsed
	switch {
	case strings.TrimSpace(in.Text) == "":
		add("text", "请填写正文")
	case len(in.Text) > 2<<20:
		add("text", "正文不能超过 2MB")
	default:
		parsed, err = ParseText("# " + title + "\n" + infoEnd + "\n" + in.Text)
		if err != nil {
			add("text", err.Error())
		}
	}
	if err := errs.Fields(fe); err != nil {
		return Doc{}, err
	}
	if eff == nil {
		eff = pub
	}
	d := Doc{Title: title, ShortTitle: strings.TrimSpace(in.ShortTitle), Number: strings.TrimSpace(in.Number), Nature: in.Nature,
		Area: strings.TrimSpace(in.Area), Body: body, BodySource: "人工录入", Region: in.Region, PublishedOn: pub, EffectiveOn: eff,
		Repealed: in.Repealed, History: []Event{}, Notes: []string{}, Articles: parsed.Articles}
	if d.ShortTitle == "" {
		d.ShortTitle = shortTitle(title)
	}
	d.Family = familyOf(d.ShortTitle)
	if fam := strings.TrimSpace(in.Family); fam != "" {
		d.Family = familyOf(fam)
	}
	return d, nil
}

func summary(d Document) map[string]any {
	return map[string]any{"title": d.Title, "number": d.Number, "nature": d.Nature, "body": d.Body, "region": d.Region,
		"published_on": d.PublishedOn, "effective_on": d.EffectiveOn, "repealed": d.Repealed, "family": d.Family, "status": d.Status,
		"articles": d.ArticleCount, "version": d.Version}
}

// CreateDocument adds a document by hand.
func (f *Function) CreateDocument(ctx context.Context, who Actor, in DocumentInput) (Document, error) {
	d, err := in.doc()
	if err != nil {
		return Document{}, err
	}
	var out Document
	err = store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		now := f.now()
		id, err := insertDocument(ctx, tx, d, "manual", now)
		if err != nil {
			return err
		}
		if _, err := refreshFamilies(ctx, tx, []string{d.Family}, now); err != nil {
			return err
		}
		if out, err = getDocument(ctx, tx, id, false); err != nil {
			return err
		}
		return auditlog.Record(ctx, tx, Source, auditlog.Operation{UserID: who.UserID, Username: who.Username, IP: who.IP,
			Action: "laws.document.create", ObjectType: "law_document", ObjectID: strconv.FormatInt(id, 10), After: summary(out)})
	})
	if err != nil {
		return Document{}, err
	}
	f.afterChange(ctx)
	return f.Get(ctx, out.ID)
}

// UpdateDocument replaces a document's fields and text. The caller sends
// the version it read; a corpus document edited here is kept by later
// imports.
func (f *Function) UpdateDocument(ctx context.Context, who Actor, id int64, in DocumentInput) (Document, error) {
	d, err := in.doc()
	if err != nil {
		return Document{}, err
	}
	if in.Version < 1 {
		return Document{}, errs.Fields([]errs.FieldError{{Field: "version", Message: "请提供读取时的版本号 version"}})
	}
	err = store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		old, err := getDocument(ctx, tx, id, true)
		if err != nil {
			return err
		}
		if old.Version != in.Version {
			return errs.New(errs.Conflict, "该文件已被他人修改，请刷新后重试")
		}
		d.Key, d.Path = "", old.Path
		if len(old.History) > 0 && len(d.History) == 0 {
			d.History = old.History
		}
		now := f.now()
		if err := updateDocument(ctx, tx, id, d, true, now); err != nil {
			return err
		}
		if _, err := refreshFamilies(ctx, tx, compactStrings(sortedPair(old.Family, d.Family)), now); err != nil {
			return err
		}
		cur, err := getDocument(ctx, tx, id, false)
		if err != nil {
			return err
		}
		return auditlog.Record(ctx, tx, Source, auditlog.Operation{UserID: who.UserID, Username: who.Username, IP: who.IP,
			Action: "laws.document.edit", ObjectType: "law_document", ObjectID: strconv.FormatInt(id, 10), Before: summary(old), After: summary(cur)})
	})
	if err != nil {
		return Document{}, err
	}
	f.afterChange(ctx)
	return f.Get(ctx, id)
}

func sortedPair(a, b string) []string {
	s := []string{a, b}
	slices.Sort(s)
	return s
}

// LinkInput puts a document into another law's family (FP-67): the
// versions of one law (修正/修订) then point to its current version.
type LinkInput struct {
	Family  string `json:"family"`  // the family's name, or
	LinkTo  int64  `json:"link_to"` // a document whose family to join
	Version int    `json:"version"`
}

// Link moves a document into a family and recomputes both families.
func (f *Function) Link(ctx context.Context, who Actor, id int64, in LinkInput) (Document, error) {
	if (in.Family == "") == (in.LinkTo == 0) {
		return Document{}, errs.Fields([]errs.FieldError{{Field: "family", Message: "请指定所属法规（family）或要关联的文件（link_to）之一"}})
	}
	err := store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		old, err := getDocument(ctx, tx, id, true)
		if err != nil {
			return err
		}
		if in.Version != 0 && in.Version != old.Version {
			return errs.New(errs.Conflict, "该文件已被他人修改，请刷新后重试")
		}
		fam := familyOf(strings.TrimSpace(in.Family))
		if in.LinkTo != 0 {
			other, err := getDocument(ctx, tx, in.LinkTo, false)
			if err != nil {
				return errs.Wrap(errs.Invalid, "要关联的文件不存在", err)
			}
			fam = other.Family
		}
		if utf8.RuneCountInString(fam) > 200 || fam == "" {
			return errs.Fields([]errs.FieldError{{Field: "family", Message: "所属法规名称应为 1 至 200 字"}})
		}
		now := f.now()
		if _, err := tx.Exec(ctx, `UPDATE laws.documents SET family = $2, edited = true, version = version + 1, updated_at = $3 WHERE id = $1`,
			id, fam, now); err != nil {
			return store.Classify(err)
		}
		if err := logChange(ctx, tx, now, id); err != nil {
			return err
		}
		if _, err := refreshFamilies(ctx, tx, compactStrings(sortedPair(old.Family, fam)), now); err != nil {
			return err
		}
		return auditlog.Record(ctx, tx, Source, auditlog.Operation{UserID: who.UserID, Username: who.Username, IP: who.IP,
			Action: "laws.document.link", ObjectType: "law_document", ObjectID: strconv.FormatInt(id, 10),
			Before: map[string]any{"family": old.Family}, After: map[string]any{"family": fam}})
	})
	if err != nil {
		return Document{}, err
	}
	f.afterChange(ctx)
	return f.Get(ctx, id)
}

// Get returns a document with its text and its family's versions.
func (f *Function) Get(ctx context.Context, id int64) (Document, error) {
	d, err := getDocument(ctx, f.pool, id, false)
	if err != nil {
		return Document{}, err
	}
	if d.Articles, err = loadArticles(ctx, f.pool, id); err != nil {
		return Document{}, err
	}
	d.Articles = nonNil(d.Articles)
	d.Versions, err = familyVersions(ctx, f.pool, d.Family)
	return d, err
}

// RefreshStatuses recomputes every status against today (尚未生效 turns
// 现行有效 on its date); the daily PingSource calls it.
func (f *Function) RefreshStatuses(ctx context.Context) (int, error) {
	var n int
	err := store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		var err error
		n, err = refreshFamilies(ctx, tx, nil, f.now())
		return err
	})
	if err == nil && n > 0 {
		f.afterChange(ctx)
	}
	return n, err
}

// afterChange brings this replica's index up to date at once (the others
// follow within LAWS_INDEX_POLL).
func (f *Function) afterChange(ctx context.Context) {
	if err := f.index.catchUp(ctx); err != nil {
		f.log.Warn("laws: index catch-up", "err", err)
	}
}
