package seed

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/sjzamr/smartreg/shared/codes"
)

// entityType indexes typeInfo.
type entityType uint8

const (
	tIndividual entityType = iota
	tEnterprise
	tCooperative
	tInstitution
	tNonEnterprise
)

// typeInfo: the stored type, credit-code prefix (registering authority +
// kind, GB 32100) and share of all entities, as in Shijiazhuang's register.
var typeInfo = [...]struct {
	name, prefix string
	share        float64
	trades       []trade
}{
	tIndividual:    {"individual", "92", 0.650, individualTrades},
	tEnterprise:    {"enterprise", "91", 0.300, enterpriseTrades},
	tCooperative:   {"cooperative", "93", 0.022, cooperativeTrades},
	tInstitution:   {"institution", "12", 0.013, institutionTrades},
	tNonEnterprise: {"non_enterprise", "52", 0.015, nonEnterpriseTrades},
}

// Entity statuses as stored.
const (
	statusActive uint8 = iota
	statusRevoked
	statusDeregistered
)

var statusNames = [...]string{"active", "revoked", "deregistered"}

// The data describe the register as of this day; no date is generated after it.
const refYear, refMonth, refDay = 2025, 6, 30

// civil is the day number (days since 1970-01-01) of a calendar date.
func civil(y, m, d int) int32 {
	return int32(time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

func dateOf(day int32) pgtype.Date {
	return pgtype.Date{Time: time.Unix(int64(day)*86400, 0).UTC(), Valid: true}
}

// orgSpace is the number of 7-character tails of an organisation-code body
// (31 characters, as the body must also fit the credit-code alphabet).
const orgSpace = 31 * 31 * 31 * 31 * 31 * 31 * 31

// orgLanes: each seed numbers its entities in its own lane of MaxCount
// indexes, so loads whose seeds differ modulo orgLanes never share a tail,
// and so never a credit code.
const orgLanes = orgSpace / MaxCount

const creditAlphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"

// summary is what the records pass needs to know about an entity.
type summary struct {
	code        string
	established int32
	place       uint8
	typ         entityType
	status      uint8
	lic         licence
}

// generator produces entities deterministically from a seed: one random
// stream, consumed in order, so the same seed gives the same rows.
type generator struct {
	r      *rand.Rand
	places []place
	cumW   []float64 // cumulative place weights
	cumT   [5]float64
	// The org-code tail of entity i is perm(a·(lane·MaxCount + i) + b mod
	// orgSpace): an affine bijection followed by a per-position character
	// permutation, fixed for all seeds, so every entity gets a distinct
	// credit code without a lookup and the codes look scattered.
	a, b  uint64
	perm  [7][31]byte
	lane  uint64
	trade [5][]float64 // cumulative trade weights per type
	surW  []float64
	sums  []summary
	index int
}

func newGenerator(seed int64) *generator {
	g := &generator{r: rand.New(rand.NewPCG(uint64(seed), 0x5eed_e17e)), places: loadPlaces()}
	acc := 0.0
	for _, p := range g.places {
		acc += p.weight
		g.cumW = append(g.cumW, acc)
	}
	acc = 0
	for i, t := range typeInfo {
		acc += t.share
		g.cumT[i] = acc
		g.trade[i] = cumulative(len(t.trades), func(j int) float64 { return t.trades[j].weight })
	}
	g.surW = cumulative(len(surnames), func(j int) float64 { return surnames[j].w })
	fixed := rand.New(rand.NewPCG(0x0c0de, 0x5eed)) // the same bijection for every seed
	for g.a = fixed.Uint64N(orgSpace); g.a%31 == 0; g.a = fixed.Uint64N(orgSpace) {
	}
	g.b = fixed.Uint64N(orgSpace)
	for i := range g.perm {
		for j, v := range fixed.Perm(31) {
			g.perm[i][j] = creditAlphabet[v]
		}
	}
	g.lane = uint64(seed) % orgLanes
	return g
}

func cumulative(n int, w func(int) float64) []float64 {
	out := make([]float64, n)
	acc := 0.0
	for i := range out {
		acc += w(i)
		out[i] = acc
	}
	return out
}

// pick returns an index drawn with the given cumulative weights.
func (g *generator) pick(cum []float64) int {
	x := g.r.Float64() * cum[len(cum)-1]
	lo, hi := 0, len(cum)-1
	for lo < hi {
		mid := (lo + hi) / 2
		if cum[mid] > x {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

func (g *generator) oneOf(list []string) string { return list[g.r.IntN(len(list))] }

// orgTail returns the 7-character tail for entity i (i < MaxCount) of this
// generator's seed.
func (g *generator) orgTail(i uint64) [7]byte {
	hi, lo := bits.Mul64(g.a, g.lane*MaxCount+i)
	_, x := bits.Div64(hi, lo, orgSpace) // hi < orgSpace since a, i < 2^35
	x = (x + g.b) % orgSpace
	var t [7]byte
	for p := 6; p >= 0; p-- {
		t[p] = g.perm[p][x%31]
		x /= 31
	}
	return t
}

// entityRow is one registry.entities row as COPY sends it.
type entityRow struct {
	code, name, typ, legalRep                            string
	established                                          pgtype.Date
	capital                                              float64 // 万元
	scope, address, district, township, industry, status string
	loc                                                  []byte // EWKB, pointing into locBuf
	locBuf                                               [25]byte
}

// entityColumns matches entityValues.
var entityColumns = []string{
	"credit_code", "name", "entity_type", "legal_rep", "established_on", "registered_capital",
	"business_scope", "address", "district_code", "township_code", "industry_code", "status", "location",
}

func entityValues(r *entityRow, v []any) {
	v[0], v[1], v[2], v[3], v[4], v[5] = &r.code, &r.name, &r.typ, &r.legalRep, &r.established, &r.capital
	v[6], v[7], v[8], v[9], v[10], v[11], v[12] = &r.scope, &r.address, &r.district, &r.township, &r.industry, &r.status, &r.loc
}

// next fills row with the next entity and remembers its summary.
func (g *generator) next(row *entityRow) error {
	i := g.index
	g.index++
	typ := entityType(g.pick(g.cumT[:]))
	pi := g.pick(g.cumW)
	pl := &g.places[pi]
	tr := &typeInfo[typ].trades[g.pick(g.trade[typ])]
	est := g.establishedOn(typ)

	// Codes issued since the 2015 reform start with M; older bodies are the
	// numeric organisation codes that were carried over.
	tail := g.orgTail(uint64(i))
	var body [8]byte
	body[0] = 'M'
	if y, _, _ := time.Unix(int64(est)*86400, 0).UTC().Date(); y < 2016 || typ == tInstitution {
		body[0] = byte('0' + g.r.IntN(10))
	}
	copy(body[1:], tail[:])
	code, err := codes.MakeCreditCode(typeInfo[typ].prefix, pl.code, string(body[:]))
	if err != nil {
		return fmt.Errorf("make credit code: %w", err)
	}

	var tw codes.Division
	if len(pl.townships) > 0 {
		tw = pl.townships[g.r.IntN(len(pl.townships))]
	}
	surname := surnames[g.pick(g.surW)].s
	status := g.status(typ)
	*row = entityRow{
		code:        code,
		name:        g.name(typ, pl, tw, tr, surname),
		typ:         typeInfo[typ].name,
		legalRep:    surname + g.oneOf(givenNames),
		established: dateOf(est),
		capital:     g.capital(typ),
		scope:       tr.fullScope(typ),
		address:     g.address(pl, tw),
		district:    pl.code,
		township:    tw.Code,
		industry:    tr.industry,
		status:      statusNames[status],
	}
	lon := clamp(pl.lon+g.r.NormFloat64()*pl.spread, minLon, maxLon)
	lat := clamp(pl.lat+g.r.NormFloat64()*pl.spread*0.8, minLat, maxLat)
	putEWKBPoint(&row.locBuf, lon, lat)
	row.loc = row.locBuf[:]

	g.sums = append(g.sums, summary{code: code, established: est, place: uint8(pi), typ: typ, status: status, lic: tr.lic})
	return nil
}

// name builds a plausible registered name for the type.
func (g *generator) name(typ entityType, pl *place, tw codes.Division, tr *trade, surname string) string {
	switch typ {
	case tIndividual:
		brand := strings.ReplaceAll(g.oneOf(shopBrands), "{s}", surname)
		return pl.prefix + brand + tr.word
	case tEnterprise:
		region := "石家庄"
		switch x := g.r.Float64(); {
		case x < 0.42:
			region = "河北"
		case x < 0.52:
			region = pl.prefix
		}
		return region + g.oneOf(brandFirst) + g.oneOf(brandSecond) + tr.word + g.oneOf(companyForm)
	case tCooperative:
		return pl.prefix + g.oneOf(coopBrands) + tr.word + "专业合作社"
	case tInstitution:
		n := strings.ReplaceAll(tr.word, "{p}", pl.prefix)
		n = strings.ReplaceAll(n, "{t}", tw.Name)
		if strings.Contains(n, "{n}") {
			max := 8
			if pl.urban {
				max = 45 // 石家庄市第二十三中学
				n = strings.Replace(n, pl.prefix, "石家庄市", 1)
			}
			n = strings.ReplaceAll(n, "{n}", chineseNumber(1+g.r.IntN(max)))
		}
		return n
	default: // non-enterprise units are named after the bare district: 桥西区阳光养老服务中心
		return pl.name + g.oneOf(socialBrands) + tr.word
	}
}

// fullScope is the registered business scope: the trade's activities and
// the standard closing clause, which depends on whether a permit is needed.
func (tr *trade) fullScope(typ entityType) string {
	if tr.lic != licNone || typ == tInstitution || typ == tNonEnterprise {
		return tr.scope + "。（依法须经批准的项目，经相关部门批准后方可开展经营活动）"
	}
	return tr.scope + "。（除依法须经批准的项目外，凭营业执照依法自主开展经营活动）"
}

func (g *generator) address(pl *place, tw codes.Division) string {
	n := 1 + g.r.IntN(399)
	switch {
	case tw.Name == "":
		return fmt.Sprintf("%s%s%d号", pl.prefix, g.oneOf(roads), n)
	case pl.urban || strings.HasSuffix(tw.Name, "街道"):
		return fmt.Sprintf("%s%s%s%d号", pl.prefix, tw.Name, g.oneOf(roads), n)
	default:
		return fmt.Sprintf("%s%s%s村%d号", pl.prefix, tw.Name, g.oneOf(villages), n%120+1)
	}
}

// establishedOn draws a registration date: most individual businesses are
// recent, institutions old, cooperatives date from the 2007 law.
func (g *generator) establishedOn(typ entityType) int32 {
	var years float64
	switch typ {
	case tIndividual:
		years = g.r.ExpFloat64() * 5
	case tEnterprise:
		years = g.r.ExpFloat64() * 8
	case tCooperative:
		years = math.Min(g.r.ExpFloat64()*7, 17.5)
	case tInstitution:
		years = 10 + g.r.Float64()*65
	default:
		years = math.Min(g.r.ExpFloat64()*8, 26)
	}
	day := civil(refYear, refMonth, refDay) - int32(math.Min(years, 40)*365.25)
	return max(day, civil(1950, 1, 1))
}

func (g *generator) status(typ entityType) uint8 {
	x := g.r.Float64()
	switch {
	case typ == tInstitution && x < 0.97, typ != tInstitution && x < 0.86:
		return statusActive
	case typ != tInstitution && x < 0.90:
		return statusRevoked
	}
	return statusDeregistered
}

// capital draws registered capital in 万元: round sums for companies, small
// amounts with one decimal for individuals.
func (g *generator) capital(typ entityType) float64 {
	switch typ {
	case tIndividual:
		if g.r.IntN(4) == 0 {
			return float64(1+g.r.IntN(290)) / 10 // 0.1–29 万元
		}
		return float64(1 + g.r.IntN(30))
	case tEnterprise:
		return float64([]int{10, 30, 50, 100, 100, 200, 300, 500, 500, 800, 1000, 1000, 2000, 3000, 5000, 10000}[g.r.IntN(16)])
	case tCooperative:
		return float64([]int{5, 10, 20, 50, 100, 200, 300, 500}[g.r.IntN(8)])
	case tInstitution:
		return float64(10 + g.r.IntN(4990))
	}
	return float64([]int{3, 5, 10, 20, 30, 50, 100}[g.r.IntN(7)])
}

// putEWKBPoint encodes a WGS 84 point as little-endian EWKB, the binary
// input PostGIS reads for geography, so COPY needs no SQL function per row.
func putEWKBPoint(b *[25]byte, lon, lat float64) {
	b[0] = 1                                         // little endian
	binary.LittleEndian.PutUint32(b[1:], 0x20000001) // point, with SRID
	binary.LittleEndian.PutUint32(b[5:], 4326)
	binary.LittleEndian.PutUint64(b[9:], math.Float64bits(lon))
	binary.LittleEndian.PutUint64(b[17:], math.Float64bits(lat))
}

func clamp(x, lo, hi float64) float64 { return math.Max(lo, math.Min(hi, x)) }

// chineseNumber writes 1–99 in Chinese numerals: 23 → 二十三.
func chineseNumber(n int) string {
	digits := []string{"", "一", "二", "三", "四", "五", "六", "七", "八", "九"}
	switch {
	case n < 10:
		return digits[n]
	case n < 20:
		return "十" + digits[n%10]
	default:
		return digits[n/10] + "十" + digits[n%10]
	}
}
