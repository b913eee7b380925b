module github.com/sjzamr/smartreg/tests/sim/wechat

go 1.26.0
