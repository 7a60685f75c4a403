# Unit tests that read the tree's sources (services/*/ and their sql/ folders)
# to check them against proto/*.def: they get the repository root.
SOURCE_TESTS := $(OUT)/test_ops $(OUT)/test_events
$(SOURCE_TESTS): CFLAGS += -DHD_SOURCE_ROOT=\"$(abspath $(ROOT))\"
$(SOURCE_TESTS): $(ROOT)/daemons.def $(wildcard $(ROOT)/proto/*.def $(ROOT)/services/*/*.c $(ROOT)/services/*/sql/*.sql)
