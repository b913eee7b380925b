module github.com/sjzamr/smartreg/tests/sim/nationaldata

go 1.26.0
