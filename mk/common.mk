# Shared build settings, included by every Makefile in the tree.
# ROOT must be set by the includer to the repository root (relative path).
CC       ?= cc
SANITIZE ?=
BUILD    ?= $(ROOT)/build$(if $(SANITIZE),-san,)
PKGS     := libevent libevent_pthreads libpq hiredis libcjson libjwt openssl libargon2 liboath zlib
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lnng -lmbedtls -lmbedx509 -lmbedcrypto -lpthread -lm

WARN    := -Wall -Wextra -Werror -Wstrict-prototypes -Wshadow -Wno-unused-parameter
CFLAGS  ?= -O2 -g
CFLAGS  += -std=c11 -D_GNU_SOURCE -fno-omit-frame-pointer -fPIC $(WARN)
# libs/include: the hd/*.h headers; proto: the contract's *.def data files.
CFLAGS  += -I$(ROOT)/libs/include -I$(ROOT)/proto $(PKG_CFLAGS)
ifneq ($(SANITIZE),)
CFLAGS  += -fsanitize=$(SANITIZE) -fno-sanitize-recover=all
LDFLAGS += -fsanitize=$(SANITIZE)
endif
LIBHD   := $(BUILD)/libs/libhd.a

# $(call text_to_c,NAME): writes the text file $< as the C string NAME, one
# string literal line per text line (\\, " and ? escaped: no trigraphs),
# into $@ (libs' shared migrations, the gateway's copy of docs/openapi.yaml).
define text_to_c
{ echo '/* Generated from $(notdir $<) by make; do not edit. */'; \
  echo 'const char $(1)[] ='; \
  sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/?/\\?/g' -e 's/^/\t"/' -e 's/$$/\\n"/' $<; \
  echo '	"";'; } >$@.tmp && mv $@.tmp $@
endef
