module github.com/sjzamr/smartreg/tests/sim/province

go 1.26.0
