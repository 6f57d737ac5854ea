#include "cqlpp/protocol/types.hpp"
int main(){}
