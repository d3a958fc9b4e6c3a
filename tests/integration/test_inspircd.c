/* placeholder until the codec API settles */
int main(void) { return 0; }
