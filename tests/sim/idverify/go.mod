module github.com/sjzamr/smartreg/tests/sim/idverify

go 1.26.0
