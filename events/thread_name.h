#pragma once

#include <pthread.h>

namespace tl {

// Names the calling thread as `top -H`, `ps -T` and perf show it (Linux keeps
// at most 15 characters; longer names are cut to fit).
inline void NameThisThread(const char* name) {
  char cut[16] = {};
  for (int i = 0; i < 15 && name[i] != '\0'; ++i) cut[i] = name[i];
  pthread_setname_np(pthread_self(), cut);
}

}  // namespace tl
