# greet NAME: print a greeting for NAME; with no name, greet the world.
greet() {
  echo "Hello, $1!"
}
