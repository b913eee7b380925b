package datahub

import "strconv"

// InterfaceDoc is a generated interface's own OpenAPI 3 document (FP-95):
// its one path, a query parameter per field it opens with the operators
// its type allows, and the row schema.
func InterfaceDoc(ds *Dataset, it Interface) map[string]any {
	props := map[string]any{}
	params := []any{
		map[string]any{"name": "select", "in": "query", "description": "返回的字段，逗号分隔", "schema": map[string]any{"type": "string"}},
		map[string]any{"name": "order", "in": "query", "description": "排序，如 established_on.desc,credit_code", "schema": map[string]any{"type": "string"}},
		map[string]any{"name": "limit", "in": "query", "schema": map[string]any{"type": "integer", "maximum": MaxLimit, "default": DefaultLimit}},
		map[string]any{"name": "offset", "in": "query", "schema": map[string]any{"type": "integer", "minimum": 0}},
		map[string]any{"name": "after", "in": "query", "description": "键集分页：上一页响应头 X-Next-After 的值（按 " + ds.Key + " 升序）", "schema": map[string]any{"type": "string"}},
		map[string]any{"name": "or", "in": "query", "description": "或条件组，如 (status.eq.active,name.like.*超市*)", "schema": map[string]any{"type": "string"}},
		map[string]any{"name": "where", "in": "query", "description": "CEL 表达式，按本接口字段做类型检查，如 established_on >= \"2020-01-01\" && name.contains(\"超市\")", "schema": map[string]any{"type": "string"}},
	}
	for _, name := range it.Fields {
		f, _ := ds.field(name)
		desc := f.Title
		if f.Sensitivity == Personal && !it.Unmask {
			desc += "（个人信息，已脱敏）"
		}
		props[f.Name] = map[string]any{"type": jsonType(f.Type), "description": desc, "nullable": true}
		params = append(params, map[string]any{"name": f.Name, "in": "query", "schema": map[string]any{"type": "string"},
			"description": f.Title + "：运算符." + "值，可用 " + joinOps(opsFor(f.Type)) + "，前加 not. 取反"})
	}
	path := "/datahub/v1/data/" + strconv.FormatInt(it.ID, 10)
	return map[string]any{
		"openapi": "3.0.3",
		"info":    map[string]any{"title": it.Name, "version": "1", "description": ds.Title + "：" + ds.Description},
		"components": map[string]any{"securitySchemes": map[string]any{
			"apiKey": map[string]any{"type": "apiKey", "in": "header", "name": "X-API-Key"}}},
		"security": []any{map[string]any{"apiKey": []any{}}},
		"paths": map[string]any{path: map[string]any{"get": map[string]any{
			"summary": it.Name, "parameters": params,
			"responses": map[string]any{
				"200": map[string]any{"description": "数据行", "content": map[string]any{"application/json": map[string]any{
					"schema": map[string]any{"type": "array", "items": map[string]any{"type": "object", "properties": props}}}}},
				"400": map[string]any{"description": "查询条件有误（错误信息指明字段、运算符或值）"},
				"401": map[string]any{"description": "访问密钥缺失、无效或已吊销"},
				"429": map[string]any{"description": "调用次数已达上限，见 Retry-After"},
			}}}},
	}
}

func jsonType(t string) string {
	switch t {
	case TypeInt:
		return "integer"
	case TypeNumber:
		return "number"
	}
	return "string"
}

func joinOps(ops []string) string {
	s := ""
	for i, o := range ops {
		if i > 0 {
			s += "、"
		}
		s += o
	}
	return s
}
