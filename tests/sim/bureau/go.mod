module github.com/sjzamr/smartreg/tests/sim/bureau

go 1.26.0
