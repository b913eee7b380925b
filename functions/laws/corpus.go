package laws

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"golang.org/x/text/unicode/norm"
)

// The shipped corpus (corpus/README.md): the Markdown documents in their
// folders with law.json and category.json, db.sqlite3's two tables as
// written by the sqlite3 shell. Zipped, it is 7.8 MB instead of 25 MB.
//
//go:embed corpus/laws.zip
var corpusZip []byte

// Corpus is the shipped corpus as a file system.
func Corpus() (fs.FS, error) { return OpenZip(corpusZip) }

// OpenZip reads a corpus in the shipped layout from a ZIP archive.
func OpenZip(b []byte) (fs.FS, error) {
	z, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return nil, fmt.Errorf("不是有效的 ZIP 文件：%w", err)
	}
	return z, nil
}

// metaRow is one row of db.sqlite3's law table.
type metaRow struct {
	ID         string  `json:"id"`
	Level      string  `json:"level"`
	Name       string  `json:"name"`
	Filename   *string `json:"filename"`
	Publish    *string `json:"publish"`
	ValidFrom  *string `json:"valid_from"`
	Expired    int     `json:"expired"`
	Order      *int    `json:"order"`
	Subtitle   *string `json:"subtitle"`
	CategoryID string  `json:"category_id"`
}

type category struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Folder string `json:"folder"`
}

// Doc is one document as an import would store it.
type Doc struct {
	Key         string     `json:"key"` // corpus id; "" for a document kept by hand
	Path        string     `json:"path"`
	Title       string     `json:"title"`
	ShortTitle  string     `json:"short_title"`
	Family      string     `json:"family"`
	Nature      string     `json:"nature"`
	Area        string     `json:"area"`
	Body        string     `json:"body"`
	BodySource  string     `json:"body_source"`
	Number      string     `json:"number"`
	Region      string     `json:"region"`
	PublishedOn *time.Time `json:"published_on"`
	EffectiveOn *time.Time `json:"effective_on"`
	Repealed    bool       `json:"repealed"`
	History     []Event    `json:"history"`
	Notes       []string   `json:"notes"`
	Articles    []Article  `json:"articles"`
}

// Hash identifies the source's content: a re-import rewrites a document
// only when it changes.
func (s Doc) Hash() string {
	b, _ := json.Marshal(s)
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// DocError is what is wrong with one document of an import.
type DocError struct {
	Path    string `json:"path"`
	Title   string `json:"title,omitempty"`
	Message string `json:"message"`
}

// Skip is a document an import left out on purpose, and why.
type Skip struct {
	Path   string `json:"path"`
	Reason string `json:"reason"`
}

// Natures are the document types (效力位阶) the library knows.
var Natures = []string{"宪法", "法律", "行政法规", "监察法规", "地方性法规", "自治条例和单行条例", "部门规章", "地方政府规章",
	"司法解释", "规范性文件", "案例", "其他"}

// Statuses are the validity states (时效性).
var Statuses = []string{StatusInForce, StatusAmended, StatusRepealed, StatusPending}

const (
	StatusInForce  = "现行有效"
	StatusAmended  = "已修改"
	StatusRepealed = "已废止"
	StatusPending  = "尚未生效"
)

// civilCodePrefix names the eight files of the Civil Code, which the
// library keeps as one document with its books as parts, so that
// "民法典第一千一百六十五条" finds its article.
const civilCodePrefix = "民法典 "

// ReadCorpus reads every document of a corpus. Documents with errors are
// reported one by one and left out; the caller decides whether to write
// the rest (Import writes nothing while any error remains).
func ReadCorpus(fsys fs.FS) ([]Doc, []Skip, []DocError, error) {
	var rows []metaRow
	var cats []category
	if err := readJSON(fsys, "law.json", &rows); err != nil {
		return nil, nil, nil, err
	}
	if err := readJSON(fsys, "category.json", &cats); err != nil {
		return nil, nil, nil, err
	}
	folders := map[string]category{}
	for _, c := range cats {
		folders[c.ID] = c
	}
	files, byBase, err := listFiles(fsys)
	if err != nil {
		return nil, nil, nil, err
	}
	var (
		out     []Doc
		skips   []Skip
		errs    []DocError
		civil   []metaRow
		used    = map[string]bool{}
		seen    = map[string]string{} // family + text hash → path
		sources = map[string]int{}
	)
	sort.Slice(rows, func(i, j int) bool { return rows[i].ID < rows[j].ID })
	for _, r := range rows {
		if strings.HasPrefix(r.Name, civilCodePrefix) {
			civil = append(civil, r)
			continue
		}
		c, ok := folders[r.CategoryID]
		if !ok {
			errs = append(errs, DocError{Path: r.ID, Title: r.Name, Message: "分类 " + r.CategoryID + " 不存在"})
			continue
		}
		p := resolve(r, c.Folder, files, byBase)
		if p == "" {
			errs = append(errs, DocError{Path: c.Folder + "/" + r.Name, Title: r.Name, Message: "找不到对应的文件"})
			continue
		}
		used[p] = true
		s, err := readDocument(fsys, p, r, c)
		if err != nil {
			errs = append(errs, DocError{Path: p, Title: r.Name, Message: err.Error()})
			continue
		}
		dup := s.Family + "\x00" + textHash(s.Articles)
		if first, ok := seen[dup]; ok {
			// The same text twice: keep the copy with more metadata.
			i := sources[first]
			if len(s.History)+len(s.Notes) > len(out[i].History)+len(out[i].Notes) {
				skips = append(skips, Skip{Path: out[i].Path, Reason: "与 " + p + " 正文相同，只导入一次"})
				out[i] = s
				seen[dup], sources[p] = p, i
				continue
			}
			skips = append(skips, Skip{Path: p, Reason: "与 " + first + " 正文相同，只导入一次"})
			continue
		}
		seen[dup] = p
		sources[p] = len(out)
		out = append(out, s)
	}
	if len(civil) > 0 {
		s, err := readCivilCode(fsys, civil, folders, files, byBase, used)
		if err != nil {
			errs = append(errs, DocError{Path: "民法典", Title: "中华人民共和国民法典", Message: err.Error()})
		} else {
			out = append(out, s)
		}
	}
	for _, f := range files {
		if !used[f] {
			skips = append(skips, Skip{Path: f, Reason: "law.json 中没有对应的条目（同名文件在其他分类中重复）"})
		}
	}
	return out, skips, errs, nil
}

func readJSON(fsys fs.FS, name string, v any) error {
	b, err := fs.ReadFile(fsys, name)
	if err != nil {
		return fmt.Errorf("法规库缺少 %s：%w", name, err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s 不是有效的 JSON：%w", name, err)
	}
	return nil
}

func listFiles(fsys fs.FS) ([]string, map[string][]string, error) {
	var files []string
	byBase := map[string][]string{}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !strings.HasSuffix(p, ".md") || path.Base(p) == "_index.md" || p == "README.md" {
			return nil
		}
		p = norm.NFC.String(p)
		files = append(files, p)
		byBase[path.Base(p)] = append(byBase[path.Base(p)], p)
		return nil
	})
	slices.Sort(files)
	return files, byBase, err
}

// resolve finds a row's file the way the corpus names them:
// <folder>/<name>(<publish>).md, without the date for undated documents,
// the file name or subtitle instead of the name where given.
func resolve(r metaRow, folder string, files []string, byBase map[string][]string) string {
	var bases []string
	for _, b := range []*string{r.Filename, &r.Name, r.Subtitle} {
		if b == nil || *b == "" {
			continue
		}
		if r.Publish != nil && *r.Publish != "" {
			bases = append(bases, *b+"("+*r.Publish+").md")
		}
		bases = append(bases, *b+".md")
	}
	for _, b := range bases {
		p := norm.NFC.String(folder + "/" + b)
		if _, ok := slices.BinarySearch(files, p); ok {
			return p
		}
	}
	for _, b := range bases {
		if c := byBase[norm.NFC.String(b)]; len(c) == 1 {
			return c[0]
		}
	}
	return ""
}

var reFileDate = regexp.MustCompile(`\(([0-9]{4}-[0-9]{2}-[0-9]{2})\)\.md$`)

func readDocument(fsys fs.FS, p string, r metaRow, c category) (Doc, error) {
	b, err := fs.ReadFile(fsys, p)
	if err != nil {
		return Doc{}, fmt.Errorf("无法读取文件：%w", err)
	}
	parsed, err := ParseText(string(b))
	if err != nil {
		return Doc{}, err
	}
	s := Doc{Key: r.ID, Path: p, Title: parsed.Title, ShortTitle: norm.NFKC.String(r.Name), Nature: natureOf(r.Level, c),
		Area: c.Name, Repealed: r.Expired == 1, History: parsed.History, Notes: parsed.Notes, Articles: parsed.Articles}
	if s.Nature == "案例" {
		// A case's file title is its holding; the row's subtitle is the case.
		if r.Subtitle != nil && *r.Subtitle != "" {
			s.ShortTitle = *r.Subtitle
		}
	}
	if err := s.complete(str(r.Publish), str(r.ValidFrom), reFileDate.FindStringSubmatch(p), c.Folder); err != nil {
		return Doc{}, err
	}
	return s, nil
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// complete derives what the metadata lacks: dates from the history lines
// and the text, the issuing body and number from the history lines.
func (s *Doc) complete(publish, validFrom string, fileDate []string, folder string) error {
	pub, err := ParseDate(publish)
	if err != nil {
		return fmt.Errorf("发布日期：%w", err)
	}
	eff, err := ParseDate(validFrom)
	if err != nil {
		return fmt.Errorf("施行日期：%w", err)
	}
	if pub == nil && fileDate != nil {
		pub, _ = ParseDate(fileDate[1])
	}
	if pub == nil {
		pub = lastEventDate(s.History, "通过", "公布", "修正", "修订", "发布")
	}
	if eff == nil {
		eff = effectiveFromText(s.Articles, pub)
	}
	if eff == nil {
		eff = lastEventDate(s.History, "施行")
	}
	if eff == nil {
		eff = pub
	}
	s.PublishedOn, s.EffectiveOn = pub, eff
	if s.Title == "" {
		s.Title = s.ShortTitle
	}
	if s.ShortTitle == "" {
		s.ShortTitle = shortTitle(s.Title)
	}
	s.Family = familyOf(s.ShortTitle)
	if s.Body == "" {
		s.Body, s.BodySource = deriveBody(s.Nature, s.Title, s.History, s.Notes, folder)
	}
	if s.Number == "" {
		s.Number = deriveNumber(s.History, s.Notes)
	}
	return nil
}

func lastEventDate(h []Event, kinds ...string) *time.Time {
	for i := len(h) - 1; i >= 0; i-- {
		if slices.Contains(kinds, h[i].Kind) {
			t, err := time.Parse(time.DateOnly, h[i].Date)
			if err == nil {
				return &t
			}
		}
	}
	return nil
}

var (
	reInForceDate = regexp.MustCompile(`自\s*([0-9]{4}年[0-9]{1,2}月[0-9]{1,2}日)\s*起(?:施行|实施|执行|生效)`)
	reInForcePub  = regexp.MustCompile(`自(?:公布|发布|印发)之日起(?:施行|实施|执行|生效)`)
)

// effectiveFromText reads "本法自2015年9月1日起施行" in the closing
// articles.
func effectiveFromText(arts []Article, pub *time.Time) *time.Time {
	for i := len(arts) - 1; i >= 0 && i >= len(arts)-3; i-- {
		t := strings.Join(arts[i].Paragraphs, "")
		if m := reInForceDate.FindStringSubmatch(t); m != nil {
			if d, err := ParseDate(m[1]); err == nil {
				return d
			}
		}
		if reInForcePub.MatchString(t) && pub != nil {
			return pub
		}
	}
	return nil
}

// readCivilCode joins the Civil Code's books into one document.
func readCivilCode(fsys fs.FS, rows []metaRow, folders map[string]category, files []string, byBase map[string][]string, used map[string]bool) (Doc, error) {
	sort.Slice(rows, func(i, j int) bool { return intOr(rows[i].Order) < intOr(rows[j].Order) })
	s := Doc{Key: "民法典", Path: "民法典", Title: "中华人民共和国民法典", ShortTitle: "民法典", Nature: "法律", Area: "民法典"}
	for _, r := range rows {
		c := folders[r.CategoryID]
		name := strings.TrimPrefix(r.Name, civilCodePrefix)
		p := resolve(metaRow{Name: name}, c.Folder, files, byBase)
		if p == "" {
			return Doc{}, fmt.Errorf("找不到民法典%s的文件", name)
		}
		used[p] = true
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return Doc{}, err
		}
		parsed, err := ParseText(string(b))
		if err != nil {
			return Doc{}, fmt.Errorf("%s：%w", p, err)
		}
		if len(s.History) == 0 {
			s.History = parsed.History
		}
		for _, a := range parsed.Articles {
			a.Part = strings.TrimSpace(name + " " + a.Part)
			a.Seq = len(s.Articles) + 1
			s.Articles = append(s.Articles, a)
		}
	}
	return s, s.complete("", "", nil, "民法典")
}

func intOr(p *int) int {
	if p == nil {
		return 1 << 30
	}
	return *p
}

// textHash identifies a text by its numbered articles (a preamble
// repeating the title and number does not make a second document).
func textHash(arts []Article) string {
	h := sha256.New()
	numbered := slices.ContainsFunc(arts, func(a Article) bool { return a.Number > 0 })
	for _, a := range arts {
		if numbered && a.Number == 0 {
			continue
		}
		h.Write([]byte(a.Label))
		for _, p := range a.Paragraphs {
			h.Write([]byte(p))
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// natureOf maps the corpus's level to a document type.
func natureOf(level string, c category) string {
	switch level {
	case "宪法", "法律", "行政法规", "司法解释", "部门规章", "案例":
		return level
	}
	return "其他"
}

// shortTitle is the name a law is called by: without "中华人民共和国".
func shortTitle(title string) string {
	t := strings.TrimSpace(norm.NFKC.String(title))
	if s := strings.TrimPrefix(t, "中华人民共和国"); s != "" {
		return s
	}
	return t
}

// familyOf keys the versions of one law: the short title, normalised
// (full-width brackets, spaces).
func familyOf(short string) string {
	s := norm.NFKC.String(short)
	s = strings.Join(strings.Fields(s), "")
	return strings.NewReplacer("(", "（", ")", "）").Replace(s)
}

var (
	reNPCSC   = regexp.MustCompile(`全国人民代表大会常务委员会`)
	reNPC     = regexp.MustCompile(`全国人民代表大会(?:第|会议)`)
	reState   = regexp.MustCompile(`国务院(?:令|第[0-9一二三四五六七八九十百]+次常务会议|常务会议|公布|发布|批准)`)
	reLocalPC = regexp.MustCompile(`((?:[\p{Han}]{2,8}?(?:省|自治区|市|州|县|区)){1,2})(?:第[\p{Han}0-9]+届)?人民代表大会常务委员会`)
	reDecree  = regexp.MustCompile(`([\p{Han}、]{2,40}?(?:部|委员会|总局|局|署|办公厅|银行|院|政府))(?:[、\p{Han}]*?)令`)
	reMeeting = regexp.MustCompile(`([\p{Han}]{2,30}?(?:部|委员会|总局|局|署|银行|政府))(?:第[\p{Han}0-9]+次)?(?:部务|局务|委务|署务|常务|主任|行务|委员)会议`)
	reSigner  = regexp.MustCompile(`^[\p{Han}、]{2,30}(?:部|委员会|总局|局|署|办公厅|银行|院|政府)$`)
	reNumber  = []*regexp.Regexp{
		regexp.MustCompile(`[\p{Han}]{2,30}令(?:第\s*[0-9零〇一二三四五六七八九十百千]+\s*号|（第?\s*[0-9]+\s*号）)`),
		regexp.MustCompile(`[\p{Han}]{1,12}[〔\[【（(][0-9]{4}[〕\]】）)]\s*[0-9]+\s*号`),
	}
)

// deriveBody names the issuing body (制定机关) and where the name came
// from: the history lines (the enacting line first), the notes (a signer),
// the title, or the document type.
func deriveBody(nature, title string, hist []Event, notes []string, folder string) (string, string) {
	for _, e := range hist {
		if b := bodyIn(e.Text); b != "" {
			return b, "历史沿革"
		}
	}
	for _, n := range notes {
		if reSigner.MatchString(n) {
			return normBody(n), "文件署名"
		}
		if b := bodyIn(n); b != "" {
			return b, "文件说明"
		}
	}
	switch {
	case strings.HasPrefix(title, "最高人民法院、最高人民检察院") || strings.HasPrefix(title, "最高人民法院 最高人民检察院"):
		return "最高人民法院、最高人民检察院", "标题"
	case strings.HasPrefix(title, "最高人民法院"):
		return "最高人民法院", "标题"
	case strings.HasPrefix(title, "最高人民检察院"):
		return "最高人民检察院", "标题"
	case strings.HasPrefix(title, "国务院"):
		return "国务院", "标题"
	case strings.HasPrefix(title, "全国人民代表大会常务委员会"):
		return "全国人民代表大会常务委员会", "标题"
	}
	switch nature {
	case "宪法":
		return "全国人民代表大会", "文件类型"
	case "法律":
		return "全国人民代表大会常务委员会", "文件类型"
	case "行政法规":
		return "国务院", "文件类型"
	case "司法解释":
		return "最高人民法院", "文件类型"
	case "部门规章":
		if _, sub, ok := strings.Cut(folder, "/"); ok {
			return normBody(strings.TrimSuffix(sub, "规章")), "所属部门"
		}
	}
	return "", ""
}

func bodyIn(t string) string {
	spc, spp := strings.Contains(t, "最高人民法院"), strings.Contains(t, "最高人民检察院")
	switch {
	case spc && spp:
		return "最高人民法院、最高人民检察院"
	case spc:
		return "最高人民法院"
	case spp:
		return "最高人民检察院"
	case reNPCSC.MatchString(t):
		if m := reLocalPC.FindStringSubmatch(t); m != nil && !strings.Contains(m[1], "全国") {
			return m[1] + "人民代表大会常务委员会"
		}
		return "全国人民代表大会常务委员会"
	case reNPC.MatchString(t):
		return "全国人民代表大会"
	case reState.MatchString(t):
		return "国务院"
	}
	if m := reLocalPC.FindStringSubmatch(t); m != nil {
		return m[1] + "人民代表大会常务委员会"
	}
	if m := reDecree.FindStringSubmatch(t); m != nil {
		return normBody(m[1])
	}
	if m := reMeeting.FindStringSubmatch(t); m != nil {
		return normBody(m[1])
	}
	return ""
}

// normBody writes a body's name the way the library lists it.
func normBody(b string) string {
	b = strings.TrimPrefix(strings.TrimPrefix(b, "经"), "中华人民共和国")
	switch b {
	case "市场监督管理总局":
		return "国家市场监督管理总局"
	case "公安部规章":
		return "公安部"
	}
	return b
}

// deriveNumber finds the document number (文号) of the latest version.
func deriveNumber(hist []Event, notes []string) string {
	for i := len(hist) - 1; i >= 0; i-- {
		for _, re := range reNumber {
			if m := re.FindString(hist[i].Text); m != "" {
				return cleanNumber(m)
			}
		}
	}
	for _, n := range notes {
		for _, re := range reNumber {
			if m := re.FindString(n); m != "" {
				return cleanNumber(m)
			}
		}
	}
	return ""
}

func cleanNumber(m string) string {
	m = strings.Join(strings.Fields(m), "")
	if i := strings.LastIndex(m, "》"); i >= 0 {
		m = m[i+len("》"):]
	}
	return strings.NewReplacer("[", "〔", "]", "〕", "【", "〔", "】", "〕").Replace(m)
}
