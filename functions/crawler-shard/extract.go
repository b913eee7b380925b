package crawlershard

import (
	"strconv"
	"strings"

	"golang.org/x/net/html"

	"github.com/sjzamr/smartreg/shared/codes"
)

// OnlineEntity is a website, shop, account … found on a page.
type OnlineEntity struct {
	Host       string `json:"host"`
	Kind       string `json:"kind"`     // website, online_shop, delivery_shop, mini_program
	Platform   string `json:"platform"` // as the page names it
	Name       string `json:"name"`
	CreditCode string `json:"credit_code"` // "" when the page shows none or an invalid one
	District   string `json:"district"`
	HasLicence bool   `json:"has_licence"`
	URL        string `json:"url"`
}

// Object is a product (with price and claims) of an online entity.
type Object struct {
	URL   string   `json:"url"`
	Host  string   `json:"host"`
	Kind  string   `json:"kind"`
	Name  string   `json:"name"`
	Price *float64 `json:"price,omitempty"`
	Text  string   `json:"text"`
}

var kinds = map[string]string{"网站": "website", "网店": "online_shop", "外卖平台店铺": "delivery_shop", "小程序": "mini_program",
	"公众号": "official_account", "短视频账号": "short_video_account", "APP": "app"}

// extract is the shop-page extractor over the first element of each class
// on the page: a shop's index page gives the online entity (the credit
// code kept only when its check digits hold), a product page the product.
func extract(host, url string, byClass map[string]*html.Node) (*OnlineEntity, *Object) {
	if n := byClass["shop-name"]; n != nil {
		e := &OnlineEntity{Host: host, Name: text(n), URL: url, HasLicence: byClass["licence"] != nil, Kind: "website", Platform: "网站"}
		if s := byClass["shop"]; s != nil {
			for _, a := range s.Attr {
				if a.Key == "data-platform" && kinds[a.Val] != "" {
					e.Platform, e.Kind = a.Val, kinds[a.Val]
				}
			}
		}
		if c := byClass["credit-code"]; c != nil {
			code := afterColon(text(c))
			if codes.CheckCreditCode(code) == nil {
				e.CreditCode = code
			}
		}
		if d := byClass["district"]; d != nil {
			e.District = afterColon(text(d))
		}
		return e, nil
	}
	if n := byClass["product-name"]; n != nil {
		o := &Object{URL: url, Host: host, Kind: "product", Name: text(n)}
		if p := byClass["price"]; p != nil {
			if v, err := strconv.ParseFloat(strings.Trim(text(p), "¥￥ "), 64); err == nil {
				o.Price = &v
			}
		}
		if d := byClass["desc"]; d != nil {
			o.Text = text(d)
		}
		return nil, o
	}
	return nil, nil
}

func afterColon(s string) string {
	if i := strings.LastIndex(s, "："); i >= 0 {
		s = s[i+len("："):]
	}
	return strings.TrimSpace(s)
}

func text(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return strings.TrimSpace(b.String())
}
