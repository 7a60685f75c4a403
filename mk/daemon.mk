# Build one daemon: included by services/<name>/Makefile and gateway/Makefile
# after setting ROOT, NAME (binary name) and optionally EXTRA_LIBS and
# EXTRA_OBJS (objects the includer builds itself, e.g. generated sources).
include $(ROOT)/mk/common.mk

# Every function a daemon exports is declared in its header; operation
# handlers only from proto/operations.def (hd/ops.h), so a handler that is
# not listed there (unreachable) fails the build here.
CFLAGS += -Wmissing-prototypes

SRCS := $(wildcard *.c)
OBJS := $(patsubst %.c,$(BUILD)/$(NAME)/obj/%.o,$(SRCS)) $(EXTRA_OBJS)
BIN  := $(BUILD)/bin/$(NAME)

all: $(BIN)

$(BIN): $(OBJS) $(LIBHD)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(OBJS) $(LIBHD) $(PKG_LIBS) $(EXTRA_LIBS)

$(BUILD)/$(NAME)/obj/%.o: %.c $(wildcard *.h *.def) $(wildcard $(ROOT)/libs/include/hd/*.h $(ROOT)/proto/*.def)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -I. -c $< -o $@

$(LIBHD): FORCE
	$(MAKE) -C $(ROOT)/libs BUILD=$(abspath $(BUILD)) SANITIZE=$(SANITIZE)

clean:
	rm -rf $(BUILD)/$(NAME) $(BIN)

FORCE:
.PHONY: all clean FORCE
