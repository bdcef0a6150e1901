// The room catalog (de).
export default {
};
