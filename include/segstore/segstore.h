// Copyright segstore authors.
//
// The one header a program includes to use segstore.

#ifndef SEGSTORE_INCLUDE_SEGSTORE_SEGSTORE_H_
#define SEGSTORE_INCLUDE_SEGSTORE_SEGSTORE_H_

#include "segstore/backing_store.h"  // IWYU pragma: export
#include "segstore/block.h"          // IWYU pragma: export
#include "segstore/block_store.h"    // IWYU pragma: export
#include "segstore/file_system.h"    // IWYU pragma: export
#include "segstore/options.h"        // IWYU pragma: export
#include "segstore/rebuild.h"        // IWYU pragma: export
#include "segstore/recovery_report.h"  // IWYU pragma: export
#include "segstore/scaling.h"        // IWYU pragma: export

#endif  // SEGSTORE_INCLUDE_SEGSTORE_SEGSTORE_H_
