module github.com/sjzamr/smartreg/tests/sim/jjj

go 1.26.0
