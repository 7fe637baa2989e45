/* hello.c: the seed document's program. */
#include <stdio.h>

int main(void) {
  puts("Hello, world!");
  return 0;
}
