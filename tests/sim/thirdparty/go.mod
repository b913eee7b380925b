module github.com/sjzamr/smartreg/tests/sim/thirdparty

go 1.26.0
