-- MPCL Lab session journal, format 1
x = 1
